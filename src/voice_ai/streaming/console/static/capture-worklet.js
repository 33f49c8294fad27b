// The microphone, as the service wants it: mono 16 kHz L16, in 20 ms frames (320 samples, 640 bytes).
// Runs in the AudioWorklet at the context's rate (often 48 kHz) and low-pass-averages down to 16 kHz.
const TARGET_RATE = 16000;
const FRAME = 320;

class CaptureProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.step = sampleRate / TARGET_RATE; // input samples per output sample
    this.position = 0; // where the next output sample starts, in input samples (fractional)
    this.sum = 0;
    this.count = 0;
    this.frame = new Int16Array(FRAME);
    this.filled = 0;
    this.peak = 0;
    this.levelEvery = 0;
    this.active = true;
    this.port.onmessage = (event) => { if (event.data === 'stop') { this.active = false; } };
  }

  process(inputs) {
    const input = inputs[0];
    if (!this.active) { return false; }
    if (!input || input.length === 0) { return true; }
    const channel = input[0];
    for (let i = 0; i < channel.length; i++) {
      // box filter: each output sample is the mean of the input samples it covers (enough anti-aliasing for speech)
      this.sum += channel[i];
      this.count += 1;
      this.position += 1;
      if (this.position >= this.step) {
        this.position -= this.step;
        const value = Math.max(-1, Math.min(1, this.sum / this.count));
        this.sum = 0;
        this.count = 0;
        this.peak = Math.max(this.peak, Math.abs(value));
        this.frame[this.filled++] = value < 0 ? value * 0x8000 : value * 0x7fff;
        if (this.filled === FRAME) {
          const out = this.frame;
          this.port.postMessage(out.buffer, [out.buffer]);
          this.frame = new Int16Array(FRAME);
          this.filled = 0;
          if (++this.levelEvery === 5) { // a level every 100 ms for the meter
            this.port.postMessage({ level: this.peak });
            this.peak = 0;
            this.levelEvery = 0;
          }
        }
      }
    }
    return true;
  }
}

registerProcessor('voice-ai-capture', CaptureProcessor);
