// Routes. Every page is its own chunk, so the first load of a page fetches only
// what that page needs (the chat's Markdown stack never loads on Home; the admin
// and its charts never load for visitors).

import { lazy, Suspense, useEffect, type ReactNode } from "react";
import { AuthProvider } from "./auth";
import { Layout } from "./components/Layout";
import { useT, type MessageKey } from "./i18n";
import { matchPath, useRouter } from "./router";

const Home = lazy(() => import("./pages/Home"));
const Chat = lazy(() => import("./pages/Chat"));
const Browser = lazy(() => import("./pages/Browser"));
const Login = lazy(() => import("./pages/Login"));
const Settings = lazy(() => import("./pages/Settings"));
const Admin = lazy(() => import("./pages/admin/Admin"));
const NotFound = lazy(() => import("./pages/NotFound"));

function Loading() {
  const t = useT();
  return (
    <p className="page-loading" role="status">
      {t("common.loading")}
    </p>
  );
}

function page(node: ReactNode, wide = false) {
  return (
    <Layout wide={wide}>
      <Suspense fallback={<Loading />}>{node}</Suspense>
    </Layout>
  );
}

/** The page's name in the tab title, so the title says where you are (WCAG 2.4.2). */
function titleKey(path: string): MessageKey | null {
  if (path === "/" || path === "") return null;
  if (path.startsWith("/chat")) return "chat.title";
  if (path === "/browser" || path === "/browser/") return "browser.title";
  if (path === "/login") return "auth.loginTitle";
  if (path === "/signup") return "auth.signupTitle";
  if (path === "/settings") return "settings.title";
  if (path.startsWith("/admin")) return "admin.title";
  return "notFound.title";
}

function DocumentTitle() {
  const t = useT();
  const { path } = useRouter();
  const key = titleKey(path);
  useEffect(() => {
    document.title = key ? `${t(key)} — TENMON-ARK` : "TENMON-ARK";
  }, [key, t]);
  return null;
}

function Routes() {
  const { path } = useRouter();
  if (path === "/" || path === "") return page(<Home />, true);
  if (path === "/chat" || path === "/chat/") return page(<Chat conversationId={null} />, true);
  const chat = matchPath("/chat/:id", path);
  if (chat) return page(<Chat conversationId={chat.id ?? null} />, true);
  if (path === "/browser" || path === "/browser/") return page(<Browser />, true);
  if (path === "/login") return page(<Login mode="login" />);
  if (path === "/signup") return page(<Login mode="signup" />);
  if (path === "/settings") return page(<Settings />);
  if (path === "/admin") return page(<Admin tab={null} />, true);
  const admin = matchPath("/admin/:tab", path);
  if (admin) return page(<Admin tab={admin.tab ?? null} />, true);
  return page(<NotFound />);
}

export function App() {
  return (
    <AuthProvider>
      <DocumentTitle />
      <Routes />
    </AuthProvider>
  );
}
