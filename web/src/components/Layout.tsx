// The frame around every page but the widget: skip link, header with navigation,
// language switch and account, and the main landmark that receives focus after
// an in-app navigation (so screen readers start at the new page).

import { useEffect, useRef, useState, type ReactNode } from "react";
import { useAuth } from "../auth";
import { useI18n } from "../i18n";
import { Link, useRouter } from "../router";

function NavLink({ to, children, exact = false }: { to: string; children: ReactNode; exact?: boolean }) {
  const { path } = useRouter();
  const active = exact ? path === to : path === to || path.startsWith(to + "/");
  return (
    <Link to={to} className={`nav-link ${active ? "active" : ""}`} aria-current={active ? "page" : undefined}>
      {children}
    </Link>
  );
}

export function Layout({ children, wide = false }: { children: ReactNode; wide?: boolean }) {
  const { t, locale, setLocale } = useI18n();
  const { me, signedIn, isOperator, logout } = useAuth();
  const { visit, navigate } = useRouter();
  const mainRef = useRef<HTMLElement>(null);
  const first = useRef(true);
  const [menuOpen, setMenuOpen] = useState(false);

  useEffect(() => {
    setMenuOpen(false);
    if (first.current) {
      first.current = false;
      return;
    }
    mainRef.current?.focus({ preventScroll: true });
  }, [visit]);

  return (
    <div className={`app ${wide ? "app-wide" : ""}`}>
      <a className="skip-link" href="#main">
        {t("nav.skip")}
      </a>
      <header className="site-header">
        <Link to="/" className="brand" aria-label={t("nav.homeLabel")}>
          <span className="brand-mark" aria-hidden="true" />
          <span className="brand-name">TENMON-ARK</span>
        </Link>
        <button
          type="button"
          className="btn menu-toggle"
          aria-expanded={menuOpen}
          aria-controls="site-nav"
          onClick={() => setMenuOpen((o) => !o)}
        >
          {t("nav.menu")}
        </button>
        <nav id="site-nav" className={`site-nav ${menuOpen ? "open" : ""}`} aria-label={t("nav.main")}>
          <NavLink to="/" exact>
            {t("nav.home")}
          </NavLink>
          <NavLink to="/chat">{t("nav.chat")}</NavLink>
          <NavLink to="/browser">{t("nav.browser")}</NavLink>
          {isOperator ? <NavLink to="/admin">{t("nav.admin")}</NavLink> : null}
          <NavLink to="/settings">{t("nav.settings")}</NavLink>
          {signedIn ? (
            <>
              <span className="nav-user" title={me?.email ?? ""}>
                {me?.display_name || me?.email}
              </span>
              <button
                type="button"
                className="btn btn-small"
                onClick={async () => {
                  await logout();
                  navigate("/");
                }}
              >
                {t("nav.logout")}
              </button>
            </>
          ) : (
            <NavLink to="/login">{t("nav.login")}</NavLink>
          )}
          <button
            type="button"
            className="btn btn-small lang-toggle"
            onClick={() => setLocale(locale === "ja" ? "en" : "ja")}
            lang={locale === "ja" ? "en" : "ja"}
            aria-label={t("nav.langLabel")}
          >
            {t("nav.langButton")}
          </button>
        </nav>
      </header>
      <main id="main" ref={mainRef} tabIndex={-1}>
        {children}
      </main>
    </div>
  );
}
