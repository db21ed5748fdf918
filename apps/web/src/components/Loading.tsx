/** Shown while a page's code or data loads. */
export function Loading() {
  return (
    <p className="loading muted" role="status">
      Loading…
    </p>
  );
}
