import { SendEmailCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { resetSesClient, sendEmail } from '../../../src/notifications/email-sender.js';

const ses = mockClient(SESv2Client);

afterEach(() => {
  ses.reset();
  resetSesClient();
});

describe('notification e-mail through SES', () => {
  it('sends a plain-text SendEmail from the configured sender', async () => {
    // Prepare
    ses.on(SendEmailCommand).resolves({ MessageId: 'm-1' });
    // Act
    await sendEmail('night@example.com', 'alice@example.com', 'Your night: 2 completed', 'The story');
    // Assess
    const calls = ses.commandCalls(SendEmailCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input).toEqual({
      FromEmailAddress: 'night@example.com',
      Destination: { ToAddresses: ['alice@example.com'] },
      Content: { Simple: { Subject: { Data: 'Your night: 2 completed', Charset: 'UTF-8' }, Body: { Text: { Data: 'The story', Charset: 'UTF-8' } } } },
    });
  });

  it('passes SES errors on, so the delivery is retried', async () => {
    ses.on(SendEmailCommand).rejects(Object.assign(new Error('Maximum sending rate exceeded'), { name: 'TooManyRequestsException' }));
    await expect(sendEmail('night@example.com', 'alice@example.com', 's', 't')).rejects.toThrow(/sending rate/);
  });
});
