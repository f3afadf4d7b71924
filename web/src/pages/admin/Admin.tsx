// /admin: operators and admins. Tabs are URLs (/admin/kb, /admin/users, …) so a
// tab can be linked and the back button works. Assistants, users and roles are
// for admins.

import type { ReactNode } from "react";
import { useAuth } from "../../auth";
import { useT, type MessageKey } from "../../i18n";
import { Link } from "../../router";
import { AnalyticsTab } from "./AnalyticsTab";
import { ApiKeysTab } from "./ApiKeysTab";
import { AssistantsTab } from "./AssistantsTab";
import { AuditTab } from "./AuditTab";
import { KbTab } from "./KbTab";
import { UnansweredTab } from "./UnansweredTab";
import { UsersTab } from "./UsersTab";

interface TabDef {
  id: string;
  label: MessageKey;
  adminOnly?: boolean;
  render(): ReactNode;
}

const TABS: TabDef[] = [
  { id: "kb", label: "admin.tab.kb", render: () => <KbTab /> },
  { id: "assistants", label: "admin.tab.assistants", adminOnly: true, render: () => <AssistantsTab /> },
  { id: "unanswered", label: "admin.tab.unanswered", render: () => <UnansweredTab /> },
  { id: "users", label: "admin.tab.users", adminOnly: true, render: () => <UsersTab /> },
  { id: "keys", label: "admin.tab.keys", render: () => <ApiKeysTab /> },
  { id: "audit", label: "admin.tab.audit", adminOnly: true, render: () => <AuditTab /> },
  { id: "analytics", label: "admin.tab.analytics", render: () => <AnalyticsTab /> },
];

export default function Admin({ tab }: { tab: string | null }) {
  const t = useT();
  const { loading, isOperator, isAdmin, signedIn } = useAuth();
  if (loading) return <p className="page-loading">{t("common.loading")}</p>;
  if (!isOperator) {
    return (
      <div className="page narrow forbidden">
        <h1>{t("admin.forbiddenTitle")}</h1>
        <p>{t("admin.forbiddenBody")}</p>
        {!signedIn ? (
          <Link to="/login?next=/admin" className="btn btn-primary">
            {t("nav.login")}
          </Link>
        ) : (
          <Link to="/chat" className="btn">
            {t("admin.backToChat")}
          </Link>
        )}
      </div>
    );
  }
  const tabs = TABS.filter((d) => !d.adminOnly || isAdmin);
  const active = tabs.find((d) => d.id === tab) ?? tabs[0];
  return (
    <div className="page admin">
      <h1>{t("admin.title")}</h1>
      <nav className="tabs" aria-label={t("admin.sections")}>
        {tabs.map((d) => (
          <Link key={d.id} to={`/admin/${d.id}`} className={`tab ${d === active ? "active" : ""}`} aria-current={d === active ? "page" : undefined}>
            {t(d.label)}
          </Link>
        ))}
      </nav>
      <section className="tab-panel" aria-label={active ? t(active.label) : undefined}>
        {active?.render()}
      </section>
    </div>
  );
}
