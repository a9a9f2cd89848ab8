"""Datasette 0.65 behind the Almanac portal's /x/support-insights/ reverse proxy.

1. Root-relative links. Datasette builds some links (facet toggles, "Next page", the JSON
   alternate link, next_url and toggle_url in JSON) as absolute URLs from the request's Host
   header. Behind the portal that header names the backend (127.0.0.1:8601), so those links
   would leave the portal. The paths Datasette passes in already start with base_url
   (/x/support-insights/), so the path alone is a link that stays in the portal.

2. Either request path works. The portal strips /x/support-insights before forwarding; a
   request that still carries the prefix (someone on the box opening
   http://127.0.0.1:8601/x/support-insights/...) would otherwise get links prefixed twice,
   because Datasette prefixes the raw request path with base_url again. The prefix is removed
   here, before Datasette sees the request.
"""

from datasette import hookimpl


@hookimpl
def startup(datasette):
    original = datasette.absolute_url

    def absolute_url(request, path):
        if isinstance(path, str) and path.startswith("/") and not path.startswith("//"):
            return path
        return original(request, path)

    datasette.absolute_url = absolute_url


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def strip_prefix(scope, receive, send):
            base = datasette.setting("base_url")
            if scope.get("type") == "http" and base != "/":
                bare = base.rstrip("/")
                path = scope.get("path") or ""
                if path == bare or path.startswith(base):
                    scope = dict(scope, path="/" + path[len(base):])
                    raw = scope.get("raw_path")
                    if raw is not None:
                        raw = raw.decode("latin-1")
                        if raw == bare or raw.startswith(base):
                            raw = "/" + raw[len(base):]
                        scope["raw_path"] = raw.encode("latin-1")
            await app(scope, receive, send)

        return strip_prefix

    return wrap
