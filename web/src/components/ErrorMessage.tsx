// An API error as the user reads it: the translated sentence for its code, and,
// for codes whose server message carries particulars (a size limit, a refused
// address), that message too. The server writes its messages in English.

import { useT } from "../i18n";
import { errorDetail, errorKey } from "./errorText";

export function ErrorMessage({ error }: { error: { code: string; message: string } }) {
  const t = useT();
  const detail = errorDetail(error);
  return (
    <>
      {t(errorKey(error.code))}
      {detail ? (
        <>
          {" "}
          <span className="error-detail" lang="en">
            ({detail})
          </span>
        </>
      ) : null}
    </>
  );
}
