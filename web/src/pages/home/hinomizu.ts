// The "Hinomizu Core" (火水): two intertwined motions around a still centre. Fire
// rises and turns one way in red and gold; water descends and turns the other in
// deep blue. Canvas 2D with pre-rendered glow sprites (one drawImage per
// particle, no per-frame gradients or shadow blur), so it holds 60 fps on a CPU
// rasteriser too. Time-based motion: a slow frame moves things by the same angle.

export interface CoreOptions {
  /** prefers-reduced-motion: draw one still frame and do not animate. */
  still: boolean;
}

interface Particle {
  /** Angle around the vertical axis, radians. */
  theta: number;
  /** Height along the axis, -1 (bottom) … 1 (top). */
  h: number;
  /** Angular speed (rad/s); the sign is the direction of turning. */
  spin: number;
  /** Vertical speed (units/s); fire > 0, water < 0. */
  rise: number;
  /** Radius multiplier, so the strands have some thickness. */
  spread: number;
  size: number;
}

const FIRE_COUNT = 230;
const WATER_COUNT = 230;
const BG = "rgba(7, 9, 22, 0.24)";

function sprite(inner: string, mid: string, outer: string): HTMLCanvasElement {
  const c = document.createElement("canvas");
  c.width = c.height = 64;
  const g = c.getContext("2d");
  if (!g) return c;
  const grad = g.createRadialGradient(32, 32, 0, 32, 32, 32);
  grad.addColorStop(0, inner);
  grad.addColorStop(0.35, mid);
  grad.addColorStop(1, outer);
  g.fillStyle = grad;
  g.fillRect(0, 0, 64, 64);
  return c;
}

function spawn(kind: "fire" | "water", anywhere: boolean): Particle {
  const fire = kind === "fire";
  return {
    theta: Math.random() * Math.PI * 2,
    h: anywhere ? Math.random() * 2 - 1 : fire ? -1 - Math.random() * 0.1 : 1 + Math.random() * 0.1,
    spin: (fire ? 1 : -1) * (0.55 + Math.random() * 0.3),
    rise: (fire ? 1 : -1) * (0.1 + Math.random() * 0.08),
    spread: 0.75 + Math.random() * 0.5,
    size: 3 + Math.random() * 5,
  };
}

/** Vortex radius at height h: narrow at the still centre, wide at the ends. */
function radiusAt(h: number): number {
  return 0.16 + 0.84 * Math.min(1, Math.abs(h)) ** 0.8;
}

export class HinomizuCore {
  private ctx: CanvasRenderingContext2D;
  private fire: Particle[] = [];
  private water: Particle[] = [];
  private fireSprite = sprite("rgba(255,244,200,1)", "rgba(255,170,40,0.55)", "rgba(200,30,20,0)");
  private waterSprite = sprite("rgba(200,230,255,0.9)", "rgba(40,90,210,0.5)", "rgba(10,20,90,0)");
  private coreSprite = sprite("rgba(255,255,245,1)", "rgba(255,226,150,0.45)", "rgba(255,200,120,0)");
  private width = 0;
  private height = 0;
  private raf = 0;
  private last = 0;
  private running = false;
  /** Frames drawn; read by the frame-rate benchmark. */
  frames = 0;

  constructor(private canvas: HTMLCanvasElement, private options: CoreOptions) {
    const ctx = canvas.getContext("2d", { alpha: false });
    if (!ctx) throw new Error("no 2D context");
    this.ctx = ctx;
    for (let i = 0; i < FIRE_COUNT; i++) this.fire.push(spawn("fire", true));
    for (let i = 0; i < WATER_COUNT; i++) this.water.push(spawn("water", true));
  }

  /** Match the canvas's backing store to its CSS size and the device pixel ratio. */
  resize(): void {
    const rect = this.canvas.getBoundingClientRect();
    const dpr = Math.min(window.devicePixelRatio || 1, 2);
    this.width = Math.max(1, rect.width);
    this.height = Math.max(1, rect.height);
    this.canvas.width = Math.round(this.width * dpr);
    this.canvas.height = Math.round(this.height * dpr);
    this.ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    this.ctx.fillStyle = "#070916";
    this.ctx.fillRect(0, 0, this.width, this.height);
    if (this.options.still) this.drawStill();
  }

  start(): void {
    if (this.options.still || this.running) return;
    this.running = true;
    this.last = 0;
    const loop = (now: number) => {
      if (!this.running) return;
      const dt = this.last ? Math.min((now - this.last) / 1000, 0.05) : 1 / 60;
      this.last = now;
      this.step(dt);
      this.draw();
      this.frames++;
      this.raf = requestAnimationFrame(loop);
    };
    this.raf = requestAnimationFrame(loop);
  }

  stop(): void {
    this.running = false;
    cancelAnimationFrame(this.raf);
  }

  private step(dt: number): void {
    for (const p of this.fire) {
      p.theta += p.spin * dt;
      p.h += p.rise * dt;
      if (p.h > 1.05) Object.assign(p, spawn("fire", false));
    }
    for (const p of this.water) {
      p.theta += p.spin * dt;
      p.h += p.rise * dt;
      if (p.h < -1.05) Object.assign(p, spawn("water", false));
    }
  }

  private drawStrand(list: Particle[], img: HTMLCanvasElement, cx: number, cy: number, rx: number, ry: number): void {
    const ctx = this.ctx;
    for (const p of list) {
      const r = radiusAt(p.h) * p.spread;
      const depth = (Math.sin(p.theta) + 1) / 2; // 0 = far, 1 = near
      const x = cx + Math.cos(p.theta) * r * rx;
      const y = cy - p.h * ry + Math.sin(p.theta) * r * ry * 0.12;
      // Fade in and out at the ends of the column.
      const edge = 1 - Math.min(1, Math.max(0, (Math.abs(p.h) - 0.8) / 0.25));
      const s = p.size * (0.55 + depth * 0.9) * (rx / 260);
      ctx.globalAlpha = (0.25 + depth * 0.6) * edge;
      ctx.drawImage(img, x - s, y - s, s * 2, s * 2);
    }
  }

  private draw(): void {
    const ctx = this.ctx;
    const w = this.width;
    const h = this.height;
    const cx = w / 2;
    const cy = h / 2;
    const rx = Math.min(w * 0.42, h * 0.5, 420);
    const ry = h * 0.46;
    ctx.globalCompositeOperation = "source-over";
    ctx.globalAlpha = 1;
    ctx.fillStyle = BG;
    ctx.fillRect(0, 0, w, h);
    ctx.globalCompositeOperation = "lighter";
    this.drawStrand(this.water, this.waterSprite, cx, cy, rx, ry);
    this.drawStrand(this.fire, this.fireSprite, cx, cy, rx, ry);
    // The still centre: it does not move while everything turns around it.
    const core = Math.min(rx, ry) * 0.22;
    ctx.globalAlpha = 0.75;
    ctx.drawImage(this.coreSprite, cx - core, cy - core, core * 2, core * 2);
    ctx.globalAlpha = 1;
    ctx.globalCompositeOperation = "source-over";
  }

  /** The reduced-motion picture: the trails of a few seconds, composed once. */
  private drawStill(): void {
    for (let i = 0; i < 90; i++) {
      this.step(1 / 30);
      this.draw();
    }
  }
}
