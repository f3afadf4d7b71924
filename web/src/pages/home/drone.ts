// The Home page's low drone: four detuned low oscillators (55–110 Hz) through a
// low-pass filter, swelling slowly under an LFO. No AudioContext exists before
// the user asks for sound (browsers block audio without a gesture, and a page
// should not make noise uninvited). Gain always ramps, never jumps, so starting,
// stopping and moving the volume make no clicks.
// `window.__tenmonAudioState` ('off' | 'running') lets the browser tests check this.

declare global {
  interface Window {
    __tenmonAudioState?: "off" | "running";
  }
}

const VOICES: { freq: number; detune: number; type: OscillatorType; level: number }[] = [
  { freq: 55, detune: -6, type: "sawtooth", level: 0.28 },
  { freq: 55, detune: 7, type: "sawtooth", level: 0.24 },
  { freq: 82.41, detune: 3, type: "triangle", level: 0.3 },
  { freq: 110, detune: -4, type: "sine", level: 0.22 },
];
const MAX_GAIN = 0.5;

function publish(state: "off" | "running"): void {
  window.__tenmonAudioState = state;
}

export class Drone {
  private ctx: AudioContext | null = null;
  private master: GainNode | null = null;
  private volume = 0.5;
  private stopTimer: ReturnType<typeof setTimeout> | null = null;
  on = false;

  constructor() {
    publish("off");
  }

  private build(): { ctx: AudioContext; master: GainNode } {
    const Ctor = window.AudioContext ?? (window as unknown as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext;
    if (!Ctor) throw new Error("Web Audio is not available");
    const ctx = new Ctor();
    const master = ctx.createGain();
    master.gain.value = 0;
    const filter = ctx.createBiquadFilter();
    filter.type = "lowpass";
    filter.frequency.value = 280;
    filter.Q.value = 0.8;
    // The swell: an LFO around a base gain of 0.75, ±0.25, about 16 s per breath.
    const swell = ctx.createGain();
    swell.gain.value = 0.75;
    const lfo = ctx.createOscillator();
    lfo.frequency.value = 0.06;
    const lfoDepth = ctx.createGain();
    lfoDepth.gain.value = 0.25;
    lfo.connect(lfoDepth).connect(swell.gain);
    // A slower drift of the filter keeps the timbre from standing still.
    const drift = ctx.createOscillator();
    drift.frequency.value = 0.023;
    const driftDepth = ctx.createGain();
    driftDepth.gain.value = 90;
    drift.connect(driftDepth).connect(filter.frequency);
    for (const v of VOICES) {
      const osc = ctx.createOscillator();
      osc.type = v.type;
      osc.frequency.value = v.freq;
      osc.detune.value = v.detune;
      const g = ctx.createGain();
      g.gain.value = v.level;
      osc.connect(g).connect(filter);
      osc.start();
    }
    lfo.start();
    drift.start();
    filter.connect(swell).connect(master).connect(ctx.destination);
    return { ctx, master };
  }

  private ramp(to: number, seconds: number): void {
    if (!this.ctx || !this.master) return;
    const now = this.ctx.currentTime;
    const g = this.master.gain;
    g.cancelScheduledValues(now);
    g.setValueAtTime(g.value, now);
    g.linearRampToValueAtTime(to, now + seconds);
  }

  /** Call from a click handler only. */
  async start(): Promise<void> {
    if (this.stopTimer) {
      clearTimeout(this.stopTimer);
      this.stopTimer = null;
    }
    if (!this.ctx) {
      const built = this.build();
      this.ctx = built.ctx;
      this.master = built.master;
    }
    this.on = true;
    await this.ctx.resume();
    this.ramp(this.volume * MAX_GAIN, 1.5);
    if (this.on && this.ctx.state === "running") publish("running");
  }

  stop(): void {
    this.on = false;
    publish("off");
    if (!this.ctx) return;
    this.ramp(0, 0.4);
    const ctx = this.ctx;
    this.stopTimer = setTimeout(() => {
      if (!this.on) void ctx.suspend();
    }, 450);
  }

  setVolume(v: number): void {
    this.volume = Math.min(1, Math.max(0, v));
    if (this.on) this.ramp(this.volume * MAX_GAIN, 0.15);
  }

  dispose(): void {
    this.on = false;
    publish("off");
    if (this.stopTimer) clearTimeout(this.stopTimer);
    void this.ctx?.close();
    this.ctx = null;
    this.master = null;
  }
}
