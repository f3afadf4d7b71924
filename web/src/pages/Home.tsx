// Home: the Hinomizu Core animation, its optional drone, and the way into the chat.

import { useEffect, useId, useRef, useState } from "react";
import { useT } from "../i18n";
import { Link } from "../router";
import { Drone } from "./home/drone";
import { HinomizuCore } from "./home/hinomizu";

declare global {
  interface Window {
    /** Frames the Home animation has drawn (for bench/budget.mjs). */
    __tenmonCoreFrames?: () => number;
  }
}

function prefersReducedMotion(): boolean {
  return typeof matchMedia === "function" && matchMedia("(prefers-reduced-motion: reduce)").matches;
}

function CoreCanvas() {
  const t = useT();
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const canvas = ref.current;
    if (!canvas) return;
    let core: HinomizuCore;
    try {
      core = new HinomizuCore(canvas, { still: prefersReducedMotion() });
    } catch {
      return; // No canvas support (tests): the page works without the picture.
    }
    core.resize();
    window.__tenmonCoreFrames = () => core.frames;
    const onVisibility = () => (document.hidden ? core.stop() : core.start());
    document.addEventListener("visibilitychange", onVisibility);
    const ro = typeof ResizeObserver === "function" ? new ResizeObserver(() => core.resize()) : null;
    ro?.observe(canvas);
    if (!document.hidden) core.start();
    return () => {
      core.stop();
      ro?.disconnect();
      document.removeEventListener("visibilitychange", onVisibility);
      delete window.__tenmonCoreFrames;
    };
  }, []);
  return <canvas ref={ref} className="core-canvas" role="img" aria-label={t("home.canvasLabel")} />;
}

function DroneControls() {
  const t = useT();
  const volumeId = useId();
  const drone = useRef<Drone | null>(null);
  const [on, setOn] = useState(false);
  const [volume, setVolume] = useState(50);
  useEffect(() => {
    window.__tenmonAudioState = "off";
    return () => drone.current?.dispose();
  }, []);
  const toggle = async () => {
    // The AudioContext is created here, inside the click, and not before.
    if (!drone.current) drone.current = new Drone();
    drone.current.setVolume(volume / 100);
    if (on) {
      drone.current.stop();
      setOn(false);
    } else {
      setOn(true);
      try {
        await drone.current.start();
      } catch {
        setOn(false);
      }
    }
  };
  return (
    <div className="drone-controls">
      <button type="button" className="btn btn-ghost" aria-pressed={on} onClick={() => void toggle()}>
        <span aria-hidden="true">{on ? "◉" : "○"}</span> {t("home.sound")}
      </button>
      <label htmlFor={volumeId} className="volume-label">
        {t("home.volume")}
      </label>
      <input
        id={volumeId}
        type="range"
        min={0}
        max={100}
        step={1}
        value={volume}
        aria-valuetext={`${volume}%`}
        onChange={(e) => {
          const v = Number(e.target.value);
          setVolume(v);
          drone.current?.setVolume(v / 100);
        }}
      />
    </div>
  );
}

export default function Home() {
  const t = useT();
  return (
    <div className="home">
      <section className="hero" aria-labelledby="home-title">
        <CoreCanvas />
        <div className="hero-text">
          <p className="hero-kicker">{t("home.kicker")}</p>
          <h1 id="home-title">TENMON-ARK</h1>
          <p className="hero-lead">{t("home.lead")}</p>
          <div className="hero-actions">
            <Link to="/chat" className="btn btn-primary btn-large">
              {t("home.cta")}
            </Link>
            <Link to="/chat?assistant=mnp-support" className="btn btn-ghost btn-large">
              {t("home.ctaMnp")}
            </Link>
          </div>
          <DroneControls />
        </div>
      </section>
      <section className="features" aria-label={t("home.featuresLabel")}>
        <div className="feature">
          <h2>{t("home.f1Title")}</h2>
          <p>{t("home.f1Body")}</p>
        </div>
        <div className="feature">
          <h2>{t("home.f2Title")}</h2>
          <p>{t("home.f2Body")}</p>
        </div>
        <div className="feature">
          <h2>{t("home.f3Title")}</h2>
          <p>{t("home.f3Body")}</p>
        </div>
      </section>
    </div>
  );
}
