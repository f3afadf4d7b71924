// Entry point. The widget (/widget, inside a third-party iframe) gets its own
// small tree: bearer credentials, the browser's language, no site chrome.

import { StrictMode, lazy, Suspense } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { browserLocale, I18nProvider } from "./i18n";
import { RouterProvider } from "./router";
import { applyTheme, storedTheme, watchSystemTheme } from "./theme";
import "./styles.css";

const Widget = lazy(() => import("./pages/Widget"));

const root = document.getElementById("root");
if (!root) throw new Error("index.html has no #root");

const isWidget = window.location.pathname === "/widget" || window.location.pathname.startsWith("/widget/");

if (isWidget) {
  document.documentElement.classList.add("in-widget");
  applyTheme("light");
  createRoot(root).render(
    <StrictMode>
      <I18nProvider initial={browserLocale()} persist={false}>
        <Suspense fallback={null}>
          <Widget />
        </Suspense>
      </I18nProvider>
    </StrictMode>,
  );
} else {
  applyTheme(storedTheme());
  watchSystemTheme();
  createRoot(root).render(
    <StrictMode>
      <I18nProvider>
        <RouterProvider>
          <App />
        </RouterProvider>
      </I18nProvider>
    </StrictMode>,
  );
}
