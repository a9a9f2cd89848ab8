// Progressive enhancement only: every page works without this file.
// "/" focuses the search box, as in most catalogs and code hosts.
document.addEventListener("keydown", (event) => {
  if (event.key !== "/" || event.metaKey || event.ctrlKey || event.altKey) return;
  const target = event.target;
  if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || target.isContentEditable) return;
  const search = document.querySelector(".search input");
  if (search) {
    event.preventDefault();
    search.focus();
  }
});
