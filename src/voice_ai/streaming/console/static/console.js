// The browser console of a Voice AI secretary. No build step, no dependencies: plain modern JS.
// Microphone → AudioWorklet (16 kHz L16, 20 ms frames) → WebSocket; clips from the server are played back to back
// with AudioBufferSourceNodes in an AudioContext of their own (held by suspending it on {"type":"pause"}, played on
// from the same sample on {"type":"resume"}), stopped at once on {"type":"clear"}, and reported with {"type":"played"}.

const TEXT = {
  'pt-BR': {
    title: 'Console da secretária', idle: 'Pronto. Pressione Iniciar e fale.', start: 'Iniciar', stop: 'Encerrar',
    latency: 'Latência do último turno', sent: 'Áudio enviado', frames: 'quadros', played: 'Clipes tocados',
    connecting: 'Conectando…', listening: 'Ouvindo — fale ao microfone.', ended: 'Sessão encerrada',
    you: 'Você', secretary: 'Secretária', action: 'Ação', interrupted: 'Interrompida', error: 'Erro',
    transfer: 'Transferiria para', hangup: 'Desligaria a chamada', shown: '(mostrado, não executado)',
    mic: 'Microfone indisponível', closed: 'Conexão encerrada',
  },
  en: {
    title: 'Secretary console', idle: 'Ready. Press Start and speak.', start: 'Start', stop: 'End',
    latency: 'Last turn latency', sent: 'Audio sent', frames: 'frames', played: 'Clips played',
    connecting: 'Connecting…', listening: 'Listening — speak into the microphone.', ended: 'Session ended',
    you: 'You', secretary: 'Secretary', action: 'Action', interrupted: 'Interrupted', error: 'Error',
    transfer: 'Would transfer to', hangup: 'Would hang up', shown: '(shown, not carried out)',
    mic: 'Microphone unavailable', closed: 'Connection closed',
  },
};
const lang = (navigator.language || 'pt-BR').toLowerCase().startsWith('en') ? 'en' : 'pt-BR';
const t = (key) => TEXT[lang][key] || TEXT['pt-BR'][key] || key;

const params = new URLSearchParams(location.search);
const token = params.get('token') || '';
// keep the token out of the browser's history (it stays in memory for this page)
history.replaceState(null, '', location.pathname);

const $ = (id) => document.getElementById(id);
const ui = {
  status: $('status'), start: $('start'), stop: $('stop'), log: $('log'), latency: $('latency'),
  sent: $('sent'), played: $('played'), level: $('level'), name: $('secretary-name'),
  keys: Array.from(document.querySelectorAll('.dtmf')),
};
document.documentElement.lang = lang;
document.querySelectorAll('[data-i18n]').forEach((node) => { node.textContent = t(node.dataset.i18n); });

function status(text, state) {
  ui.status.textContent = text;
  ui.status.dataset.state = state || 'info';
}

function entry(kind, who, text, extra) {
  const item = document.createElement('li');
  item.className = kind;
  if (who) {
    const label = document.createElement('span');
    label.className = 'who';
    label.textContent = who;
    item.append(label);
  }
  const body = document.createElement('span');
  body.className = 'text';
  body.textContent = text;
  item.append(body);
  if (extra) { Object.assign(item.dataset, extra); }
  ui.log.append(item);
  item.scrollIntoView({ block: 'nearest' });
  return item;
}

// ---- playback: AudioBufferSourceNodes scheduled back to back -------------------------------------------------
class Player {
  constructor(context, report) {
    this.context = context;
    this.report = report; // (message) => void
    this.items = [];
    this.endsAt = 0;
    this.count = 0;
  }

  enqueue(id, pcm, rate) {
    const samples = new Int16Array(pcm);
    if (samples.length === 0) { this.report({ type: 'played', id, completed: true, played_ms: 0 }); return; }
    const buffer = this.context.createBuffer(1, samples.length, rate);
    const channel = buffer.getChannelData(0);
    for (let i = 0; i < samples.length; i++) { channel[i] = samples[i] / 32768; }
    const source = this.context.createBufferSource();
    source.buffer = buffer;
    source.connect(this.context.destination);
    const startAt = Math.max(this.context.currentTime + 0.01, this.endsAt);
    const item = { id, source, startAt, duration: buffer.duration, done: false, started: false };
    this.endsAt = startAt + buffer.duration;
    const arm = () => { // "playing" when the context's clock reaches the clip (it stands still while paused)
      const wait = item.startAt - this.context.currentTime;
      item.timer = setTimeout(() => {
        if (item.done) { return; }
        if (item.startAt - this.context.currentTime > 0.005) { arm(); return; }
        item.started = true;
        this.report({ type: 'playing', id });
      }, Math.max(5, wait * 1000));
    };
    arm();
    source.onended = () => this.finish(item, true);
    source.start(startAt);
    this.items.push(item);
  }

  finish(item, completed) {
    if (item.done) { return; }
    item.done = true;
    clearTimeout(item.timer);
    const elapsed = Math.min(item.duration, Math.max(0, this.context.currentTime - item.startAt));
    this.items = this.items.filter((other) => other !== item);
    if (completed) { this.count += 1; ui.played.textContent = String(this.count); }
    this.report({ type: 'played', id: item.id, completed, played_ms: Math.round((completed ? item.duration : elapsed) * 1000) });
  }

  clear() {
    for (const item of [...this.items]) {
      this.finish(item, false);
      try { item.source.stop(); } catch (error) { /* not started yet */ }
    }
    this.items = [];
    this.endsAt = 0;
    this.resume(); // later clips play at once
  }

  // A possible barge-in: the playback context's clock stops, so the current clip holds its position and the
  // queue (scheduled on that clock) waits; the microphone runs in another context and goes on.
  pause() {
    if (this.context.state === 'running') { this.context.suspend(); }
  }

  resume() {
    if (this.context.state === 'suspended') { this.context.resume(); }
  }
}

// ---- the session -----------------------------------------------------------------------------------------------
let session = null;

function b64ToBuffer(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) { bytes[i] = binary.charCodeAt(i); }
  return bytes.buffer;
}

function showEvent(event) {
  switch (event.type) {
    case 'ready':
      ui.name.textContent = event.secretary ? `— ${event.secretary.name}` : '';
      status(t('listening'), 'listening');
      break;
    case 'transcript':
      if (event.final === false) { break; }
      entry('transcript', t('you'), event.text || '…', { turn: event.turn ?? '' });
      break;
    case 'reply':
      entry('reply', t('secretary'), event.text || '', { turn: event.turn ?? '' });
      break;
    case 'action': {
      const action = event.action || '';
      if (action === 'continue') { break; }
      const what = action === 'transfer'
        ? `${t('transfer')} ${event.department ? `${event.department} ` : ''}${event.destination || ''}`.trim()
        : action === 'hangup' ? t('hangup') : action;
      entry('action', t('action'), `${what} ${t('shown')}`, { action });
      break;
    }
    case 'latency': {
      const ms = event.first_audio_ms ?? event.total_ms ?? event.ms;
      if (typeof ms === 'number') {
        ui.latency.textContent = `${Math.round(ms)} ms`;
        const parts = Object.entries(event).filter(([key, value]) => key.endsWith('_ms') && typeof value === 'number')
          .map(([key, value]) => `${key.replace(/_ms$/, '')} ${Math.round(value)}`);
        entry('latency', '', `${t('latency')}: ${parts.join(' · ')} ms`);
      }
      break;
    }
    case 'barge_in':
      // paused → resumed (a cough) or confirmed (a real interruption): only the latter goes into the log
      ui.status.dataset.barge = event.state || '';
      if (event.state === undefined || event.state === 'confirmed') {
        entry('barge_in', '', t('interrupted') + (event.heard ? `: “${event.heard}”` : ''));
      }
      break;
    case 'state':
      ui.status.dataset.state = event.state || 'info';
      break;
    case 'error':
      entry('error', t('error'), event.message || '');
      status(`${t('error')}: ${event.message || ''}`, 'error');
      break;
    case 'end':
      if ((event.reason === 'transfer' || event.reason === 'hangup') && !ui.log.querySelector('li.action')) {
        showEvent({ type: 'action', action: event.reason, destination: event.destination });
      }
      status(`${t('ended')} (${event.reason || ''})`, 'ended');
      break;
    default:
      break;
  }
}

async function start() {
  ui.start.disabled = true;
  status(t('connecting'), 'connecting');
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
    });
  } catch (error) {
    status(`${t('mic')}: ${error.message}`, 'error');
    ui.start.disabled = false;
    return;
  }
  const context = new AudioContext({ latencyHint: 'interactive' });
  const playback = new AudioContext({ latencyHint: 'interactive' });
  await context.audioWorklet.addModule(new URL('console/assets/capture-worklet.js', location.href).href);
  await context.resume();
  await playback.resume();
  const source = context.createMediaStreamSource(stream);
  const capture = new AudioWorkletNode(context, 'voice-ai-capture', { numberOfInputs: 1, numberOfOutputs: 0 });
  source.connect(capture);

  // relative to the page, so that a proxy may serve the console under a path prefix (docs/console.md)
  const url = new URL(`api/v1/stream/console?token=${encodeURIComponent(token)}`, location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const socket = new WebSocket(url.href);
  socket.binaryType = 'arraybuffer';
  const send = (message) => { if (socket.readyState === WebSocket.OPEN) { socket.send(JSON.stringify(message)); } };
  const player = new Player(playback, send);
  let frames = 0;
  let ready = false;
  session = { stream, context, playback, capture, socket, player };

  capture.port.onmessage = (event) => {
    if (event.data instanceof ArrayBuffer) {
      if (ready && socket.readyState === WebSocket.OPEN) {
        socket.send(event.data);
        frames += 1;
        if (frames % 10 === 0) { ui.sent.textContent = String(frames); }
      }
    } else if (event.data && typeof event.data.level === 'number') {
      ui.level.style.width = `${Math.min(100, Math.round(event.data.level * 200))}%`;
    }
  };
  socket.onmessage = (message) => {
    if (typeof message.data !== 'string') { return; }
    let event;
    try { event = JSON.parse(message.data); } catch (error) { return; }
    if (event.type === 'ready') {
      ready = true;
      ui.stop.disabled = false;
      ui.keys.forEach((key) => { key.disabled = false; });
    }
    if (event.type === 'play') {
      player.enqueue(event.id, b64ToBuffer(event.audio || ''), event.sample_rate || 16000);
      return;
    }
    if (event.type === 'clear') { player.clear(); return; }
    if (event.type === 'pause') { player.pause(); return; }
    if (event.type === 'resume') { player.resume(); return; }
    showEvent(event);
  };
  socket.onclose = (event) => {
    if (ui.status.dataset.state !== 'ended' && ui.status.dataset.state !== 'error') {
      status(`${t('closed')}${event.reason ? `: ${event.reason}` : ''}`, 'ended');
    }
    teardown();
  };
}

function teardown() {
  if (!session) { return; }
  const { stream, context, playback, capture, socket, player } = session;
  session = null;
  ui.sent.dataset.final = ui.sent.textContent;
  player.clear();
  capture.port.postMessage('stop');
  stream.getTracks().forEach((track) => track.stop());
  if (socket.readyState === WebSocket.OPEN) {
    socket.send(JSON.stringify({ type: 'stop' }));
    socket.close(1000, 'stopped');
  }
  context.close();
  playback.close();
  ui.start.disabled = false;
  ui.stop.disabled = true;
  ui.keys.forEach((key) => { key.disabled = true; });
}

ui.start.addEventListener('click', () => { start().catch((error) => { status(`${t('error')}: ${error.message}`, 'error'); teardown(); }); });
ui.stop.addEventListener('click', () => teardown());
ui.keys.forEach((key) => key.addEventListener('click', () => {
  if (session && session.socket.readyState === WebSocket.OPEN) {
    session.socket.send(JSON.stringify({ type: 'dtmf', digit: key.dataset.digit }));
  }
}));
