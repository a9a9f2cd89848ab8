// Progressive enhancement only: every page works without this file.
(() => {
  "use strict";

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

  // Type-ahead for the search box: an ARIA 1.2 combobox (input + listbox) filled from
  // /api/suggest. Without this script the box is a plain form that submits to /search.
  // Server text is only ever set as text nodes (never innerHTML); links are followed only
  // when they stay on this site.
  const input = document.querySelector('.search input[role="combobox"]');
  const list = input && document.getElementById(input.getAttribute("aria-controls") || "");
  if (!input || !list || !input.form) return;
  const form = input.form;

  const DEBOUNCE_MS = 80;
  const BLUR_CLOSE_MS = 150;
  const FILTER_KEYS = ["kind", "team", "owner", "tag", "status"];

  /** @type {{url: string, element: HTMLLIElement}[]} */
  let options = [];
  let activeIndex = -1;
  let renderedQuery = null;
  let debounceTimer = 0;
  let blurTimer = 0;
  /** @type {AbortController | null} */
  let controller = null;

  // Announces how many suggestions there are, for screen readers.
  const status = document.createElement("div");
  status.className = "visually-hidden";
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");
  form.appendChild(status);

  function isOpen() {
    return !list.hidden;
  }

  function open() {
    if (options.length === 0) return;
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
  }

  function close() {
    setActive(-1);
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
  }

  function cancelPending() {
    window.clearTimeout(debounceTimer);
    if (controller) {
      controller.abort();
      controller = null;
    }
  }

  function clearSuggestions() {
    close();
    list.replaceChildren();
    options = [];
    renderedQuery = null;
    status.textContent = "";
  }

  function setActive(index) {
    if (activeIndex >= 0 && options[activeIndex]) {
      options[activeIndex].element.setAttribute("aria-selected", "false");
    }
    activeIndex = index;
    if (index >= 0 && options[index]) {
      const element = options[index].element;
      element.setAttribute("aria-selected", "true");
      input.setAttribute("aria-activedescendant", element.id);
      element.scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function move(step) {
    if (options.length === 0) return;
    if (!isOpen()) open();
    const count = options.length;
    let next;
    if (activeIndex < 0) next = step > 0 ? 0 : count - 1;
    else next = (activeIndex + step + count) % count;
    setActive(next);
  }

  /** A same-site path for `url`, or null for anything that would leave the site. */
  function safePath(url) {
    if (typeof url !== "string" || url === "") return null;
    try {
      const resolved = new URL(url, window.location.origin);
      if (resolved.origin !== window.location.origin) return null;
      return resolved.pathname + resolved.search + resolved.hash;
    } catch {
      return null;
    }
  }

  function go(url) {
    close();
    window.location.assign(url);
  }

  // Highlighting: the typed words (not `key:value` filters) marked where a word of the
  // title starts with them, ignoring case and accents.

  function foldChar(character) {
    return character.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();
  }

  function typedWords(query) {
    const words = [];
    for (const chunk of query.split(/\s+/)) {
      const colon = chunk.indexOf(":");
      if (colon > 0 && FILTER_KEYS.includes(chunk.slice(0, colon).toLowerCase())) continue;
      for (const word of chunk.split(/[^\p{L}\p{N}]+/u)) {
        const folded = Array.from(word, foldChar).join("");
        if (folded) words.push(folded);
      }
    }
    return words;
  }

  /** Appends `text` to `parent` with the parts matching `words` in <mark>. */
  function appendHighlighted(parent, text, words) {
    // Fold character by character, remembering where each folded unit came from.
    let folded = "";
    const origin = []; // folded index -> [start, end) in `text`
    let offset = 0;
    for (const character of text) {
      const piece = foldChar(character);
      for (let i = 0; i < piece.length; i += 1) origin.push([offset, offset + character.length]);
      folded += piece;
      offset += character.length;
    }
    const isWordChar = (index) => index >= 0 && /[\p{L}\p{N}]/u.test(folded[index]);
    const ranges = [];
    for (const word of words) {
      let from = folded.indexOf(word);
      while (from !== -1) {
        if (!isWordChar(from - 1)) {
          ranges.push([origin[from][0], origin[from + word.length - 1][1]]);
        }
        from = folded.indexOf(word, from + 1);
      }
    }
    ranges.sort((a, b) => a[0] - b[0]);
    let position = 0;
    for (const [start, end] of ranges) {
      if (end <= position) continue;
      const begin = Math.max(start, position);
      if (begin > position) parent.appendChild(document.createTextNode(text.slice(position, begin)));
      const mark = document.createElement("mark");
      mark.textContent = text.slice(begin, end);
      parent.appendChild(mark);
      position = end;
    }
    if (position < text.length) parent.appendChild(document.createTextNode(text.slice(position)));
  }

  function span(className, text) {
    const element = document.createElement("span");
    element.className = className;
    if (text !== undefined) element.textContent = text;
    return element;
  }

  function addOption(url, fill, className) {
    const element = document.createElement("li");
    element.id = `search-suggestion-${options.length}`;
    element.className = className;
    element.setAttribute("role", "option");
    element.setAttribute("aria-selected", "false");
    fill(element);
    list.appendChild(element);
    options.push({ url, element });
  }

  function render(query, data) {
    const suggestions = data && Array.isArray(data.suggestions) ? data.suggestions : [];
    const words = typedWords(query);
    close();
    list.replaceChildren();
    options = [];
    renderedQuery = query;
    for (const suggestion of suggestions) {
      if (!suggestion || typeof suggestion.title !== "string") continue;
      const url = safePath(suggestion.url);
      if (!url) continue;
      const kind = typeof suggestion.kind === "string" ? suggestion.kind.replace(/[^a-z0-9_-]/gi, "") : "";
      const kindLabel = typeof suggestion.kindLabel === "string" ? suggestion.kindLabel : kind;
      addOption(url, (element) => {
        element.appendChild(span(`suggestion-kind kind-${kind || "other"}`, kindLabel));
        const title = span("suggestion-title");
        appendHighlighted(title, suggestion.title, words);
        element.appendChild(title);
        if (typeof suggestion.detail === "string" && suggestion.detail !== "") {
          element.appendChild(span("suggestion-detail", suggestion.detail));
        }
      }, "suggestion");
    }
    const count = options.length;
    if (count === 0) {
      status.textContent = "";
      return;
    }
    addOption(`/search?${new URLSearchParams({ q: query })}`, (element) => {
      const label = span("suggestion-title");
      label.appendChild(document.createTextNode("Search for “"));
      label.appendChild(span("suggestion-query", query.trim()));
      label.appendChild(document.createTextNode("”"));
      element.appendChild(label);
    }, "suggestion suggestion-all");
    status.textContent = `${count} ${count === 1 ? "suggestion" : "suggestions"}; use the up and down arrows to choose.`;
    if (document.activeElement === input) open();
  }

  async function fetchSuggestions(query) {
    if (controller) controller.abort();
    const current = new AbortController();
    controller = current;
    try {
      const response = await fetch(`/api/suggest?q=${encodeURIComponent(query)}`, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        signal: current.signal,
      });
      if (!response.ok) throw new Error(`suggest: HTTP ${response.status}`);
      const data = await response.json();
      if (controller !== current || input.value !== query) return; // a newer query won
      controller = null;
      render(query, data);
    } catch (error) {
      if (error && error.name === "AbortError") return;
      if (controller === current) {
        controller = null;
        clearSuggestions(); // the box still submits to /search
      }
    }
  }

  input.addEventListener("input", () => {
    cancelPending();
    const query = input.value;
    if (query.trim() === "") {
      clearSuggestions();
      return;
    }
    if (query === renderedQuery) {
      open();
      return;
    }
    debounceTimer = window.setTimeout(() => fetchSuggestions(query), DEBOUNCE_MS);
  });

  input.addEventListener("keydown", (event) => {
    if (event.isComposing || event.keyCode === 229) return; // an input method is composing
    switch (event.key) {
      case "ArrowDown":
      case "Down":
        if (options.length === 0 || input.value !== renderedQuery) {
          // Nothing shown yet for this text: ask now rather than after the pause.
          if (input.value.trim() !== "" && input.value !== renderedQuery) {
            event.preventDefault();
            cancelPending();
            fetchSuggestions(input.value);
          }
          return;
        }
        event.preventDefault();
        if (event.altKey) open();
        else move(1);
        break;
      case "ArrowUp":
      case "Up":
        if (options.length === 0 || input.value !== renderedQuery) return;
        event.preventDefault();
        move(-1);
        break;
      case "Enter":
        if (isOpen() && activeIndex >= 0 && options[activeIndex]) {
          event.preventDefault();
          go(options[activeIndex].url);
        }
        // otherwise the form submits to /search as usual
        break;
      case "Escape":
      case "Esc":
        if (isOpen()) {
          event.preventDefault();
          close();
        } else if (input.value !== "") {
          event.preventDefault();
          input.value = "";
          cancelPending();
          clearSuggestions();
        }
        break;
      case "Tab":
        close();
        break;
      default:
        break;
    }
  });

  // Keep focus in the box while the pointer is on the list, so a click lands.
  list.addEventListener("mousedown", (event) => event.preventDefault());
  list.addEventListener("click", (event) => {
    const element = event.target instanceof Element ? event.target.closest('[role="option"]') : null;
    const option = element && options.find((candidate) => candidate.element === element);
    if (option) go(option.url);
  });

  input.addEventListener("blur", () => {
    window.clearTimeout(blurTimer);
    blurTimer = window.setTimeout(close, BLUR_CLOSE_MS);
  });
  input.addEventListener("focus", () => window.clearTimeout(blurTimer));

  form.addEventListener("submit", () => {
    cancelPending();
    close();
  });
  // Coming back with the Back button: no list left open from before.
  window.addEventListener("pageshow", () => close());
})();
