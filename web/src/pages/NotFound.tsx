// Any path the app does not know.

import { useT } from "../i18n";
import { Link } from "../router";

export default function NotFound() {
  const t = useT();
  return (
    <div className="page narrow">
      <h1>{t("notFound.title")}</h1>
      <p>{t("notFound.body")}</p>
      <p>
        <Link to="/">{t("notFound.home")}</Link>
      </p>
    </div>
  );
}
