import { navigate } from '../router.js';

/** The top bar's way back to the document list, navigating in the app rather than reloading it. */
export function BackToDocuments() {
  return (
    <a
      href="/"
      className="back"
      onClick={(event) => {
        event.preventDefault();
        navigate('/');
      }}
    >
      ← Documents
    </a>
  );
}
