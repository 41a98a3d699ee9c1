import { render } from 'preact';
import { App } from './app.js';
import { loadConfig } from './session.js';
import './styles.css';

const config = await loadConfig();
render(<App config={config} />, document.getElementById('app') as HTMLElement);
