import { SendEmailCommand, SESv2Client } from '@aws-sdk/client-sesv2';

let client: SESv2Client | undefined;
/** Module scope, so a warm Lambda reuses it; honours AWS_ENDPOINT_URL like every client here. */
const ses = (): SESv2Client => (client ??= new SESv2Client({}));

/** Drops the cached client (tests). */
export const resetSesClient = (): void => {
  client = undefined;
};

/** Sends a plain-text notification e-mail through SES (SESv2 SendEmail) from the stack's sender. */
export async function sendEmail(from: string, to: string, subject: string, text: string): Promise<void> {
  await ses().send(
    new SendEmailCommand({
      FromEmailAddress: from,
      Destination: { ToAddresses: [to] },
      Content: { Simple: { Subject: { Data: subject.slice(0, 200), Charset: 'UTF-8' }, Body: { Text: { Data: text, Charset: 'UTF-8' } } } },
    }),
  );
}
