"""``newsroom``: bring the platform up, import articles, watch a stream."""

from __future__ import annotations

import gzip
import json
import os
import secrets
import signal
import subprocess
import threading
import time
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Annotated, Any
from urllib.parse import unquote, urlsplit

import httpx
import redis
import typer
from rich.console import Console
from rich.progress import Progress

from shared.contracts.streams import BY_NAME, Streams
from shared.contracts.wire import decode_envelope
from shared.messaging.redis_client import sync_redis
from shared.settings import NewsroomSettings, settings_env
from shared.text.arabic import url_slug

from . import dlq
from .embedded_redis import EmbeddedCluster, EmbeddedRedis, cluster_answers, redis_answers
from .front_cache import FrontCache
from .migrate import targets
from .supervisor import Supervisor

app = typer.Typer(help="Newsroom: an event-driven platform for news sites.", no_args_is_help=True)
console = Console()

CONTENT_TYPES = {".html": "text/html", ".htm": "text/html", ".json": "application/json"}
#: RSS and Atom documents: each entry is an article.
FEEDS = {".xml": "application/xml", ".rss": "application/rss+xml", ".atom": "application/atom+xml"}
#: What a folder's files are imported as: pages, JSON articles, page text dumps, feeds.
IMPORTABLE = {*CONTENT_TYPES, ".txt", ".md", *FEEDS}
#: A crawl's or an archive's pages are often gzipped (``page.html.gz``): read as the page.
#: Bounded, so that a small file that inflates without end cannot fill the memory.
MAX_INFLATED_BYTES = 64 * 1024 * 1024


def kind_of(path: Path) -> str:
    """The suffix that says what the file holds: ``.html`` for ``page.html.gz``."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes[-1:] == [".gz"]:
        return suffixes[-2] if len(suffixes) > 1 else ""
    return path.suffix.lower()


def read_article_file(path: Path) -> bytes:
    """The file's bytes, inflated when it is gzipped."""
    if path.suffix.lower() != ".gz":
        return path.read_bytes()
    try:
        with gzip.open(path) as packed:
            data = packed.read(MAX_INFLATED_BYTES + 1)
    except (OSError, EOFError) as exc:  # not gzip at all, or cut short
        raise RuntimeError(f"{path}: not a readable gzip file ({exc})") from exc
    if len(data) > MAX_INFLATED_BYTES:
        raise RuntimeError(f"{path}: inflates past {MAX_INFLATED_BYTES // 2**20} MiB")
    return data


def demo_article_path() -> Path:
    return Path(str(resources.files("newsroom") / "demo" / "article-page.txt"))


def _token(data_dir: Path, name: str) -> str:
    """The configured token, else one generated once and kept under the data dir (``up``)."""
    configured = os.environ.get(f"NEWSROOM_{name.upper()}_TOKEN")
    if configured:
        return configured
    path = data_dir / f"{name}-token"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(24))
        path.chmod(0o600)
    return path.read_text().strip()


def _state_file() -> Path:
    """Where ``newsroom up`` says which data directory and gateway it runs with."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "newsroom" / "up.json"


def _remember_up(data_dir: Path, gateway: str) -> None:
    try:
        path = _state_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"data_dir": str(data_dir), "gateway": gateway}))
    except OSError:  # a read-only home: the commands then need the settings spelled out
        pass


def _editor_access(gateway: str | None) -> tuple[str, str]:
    """The gateway and the editor token, whatever the current directory: the settings,
    else the data directory of the running ``newsroom up``. Never a new token."""
    settings = NewsroomSettings()
    if configured := os.environ.get("NEWSROOM_EDITOR_TOKEN"):
        return (gateway or f"http://127.0.0.1:{settings.gateway_port}").rstrip("/"), configured
    candidates = [(settings.data_dir.resolve(), None)]
    try:
        last = json.loads(_state_file().read_text())
        candidates.append((Path(last["data_dir"]), last.get("gateway")))
    except (OSError, ValueError, KeyError):
        pass
    for data_dir, running in candidates:
        path = data_dir / "editor-token"
        if path.exists():
            url = gateway or running or f"http://127.0.0.1:{settings.gateway_port}"
            return url.rstrip("/"), path.read_text().strip()
    console.print(
        "[red]No editor token:[/] set NEWSROOM_EDITOR_TOKEN, or NEWSROOM_DATA_DIR to the "
        "data directory of `newsroom up` (it keeps editor-token there).",
        soft_wrap=True,
    )
    raise typer.Exit(2)


def _files(paths: list[Path]) -> list[Path]:
    """Files as given, and folders' files by extension (recursively), each once, sorted."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and kind_of(p) in IMPORTABLE)
        else:
            found.append(path)
    return list(dict.fromkeys(found))


def _parse_scale(values: list[str]) -> dict[str, int]:
    scale = {}
    for value in values:
        service, _, count = value.partition("=")
        if not count.isdigit() or int(count) < 1:
            raise typer.BadParameter(f"--scale takes SERVICE=N, got {value!r}")
        scale[service.strip()] = int(count)
    return scale


@app.command()
def up(
    scale: Annotated[list[str], typer.Option(help="Replicas per service, e.g. views=3")] = [],  # noqa: B006
    demo: Annotated[bool, typer.Option(help="Import the demo article on start")] = True,
    redis_cluster: Annotated[
        bool,
        typer.Option(
            "--redis-cluster",
            help="On a Redis Cluster: the one NEWSROOM_REDIS_URL names, or a local one "
            "(3 masters, 3 replicas) under the data directory",
        ),
    ] = False,
) -> None:
    """Start every service as its own process (embedded defaults), until Ctrl-C."""
    settings = NewsroomSettings()
    redis_cluster = redis_cluster or settings.redis_cluster
    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    env = settings_env(
        data_dir=data_dir,
        editor_token=_token(data_dir, "editor"),
        moderator_token=_token(data_dir, "moderator"),
    )

    embedded: EmbeddedRedis | EmbeddedCluster | None = None
    if redis_cluster:
        env["NEWSROOM_REDIS_CLUSTER"] = "true"
        if not cluster_answers(settings.redis_url):
            console.print("Starting a local Redis Cluster (3 masters, 3 replicas)")
            embedded = EmbeddedCluster(data_dir / "redis-cluster")
            embedded.start()
            env["NEWSROOM_REDIS_URL"] = embedded.url
    elif not redis_answers(settings.redis_url):
        console.print(f"[yellow]No Redis at {settings.redis_url}: starting an embedded one[/]")
        embedded = EmbeddedRedis(data_dir / "redis")
        embedded.start()
        env["NEWSROOM_REDIS_URL"] = embedded.url

    os.environ["NEWSROOM_DATA_DIR"] = str(data_dir)  # the schemas' default SQLite files
    for target in targets():
        # Contract steps too: every replica stops and starts with this one version.
        before, after = target.schema.upgrade(target.url, contract=True)
        if before != after:
            console.print(f"{target.service}: schema {before or 'empty'} → {after}")
    env["NEWSROOM_MIGRATE_ON_START"] = "false"  # done once here, not again by every replica

    ports = {
        s: getattr(settings, f"{s}_port")
        for s in ("ingest", "views", "comments", "search", "webhooks", "gateway")
    }
    replicas = _parse_scale(scale)
    # One gateway per core by default: one process is what bounds the readers' requests.
    replicas.setdefault("gateway", settings.worker_count())
    supervisor = Supervisor(env, ports, replicas, port_step=settings.replica_port_step)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        supervisor.start_all()
        supervisor.wait_healthy()
        gateway = f"http://127.0.0.1:{settings.gateway_port}"
        article_url = None
        if demo:
            outcome = _import_file(demo_article_path(), gateway, env["NEWSROOM_EDITOR_TOKEN"])
            article_url = f"{gateway}/articles/{url_slug(outcome['article']['slug'])}"
        redis_in_use = env.get("NEWSROOM_REDIS_URL", settings.redis_url)
        kind = "Redis Cluster" if redis_cluster else "Redis"
        console.print(f"[bold green]Newsroom is up[/] ({kind} {redis_in_use}, data in {data_dir})")
        # Plain prints: URLs must stay whole (rich would wrap them) and greppable.
        print(f"  Site:         {gateway}/")
        if article_url:
            print(f"  Demo article: {article_url}")
        print(f"  API docs:     {gateway}/docs")
        print(f"  Events:       {gateway}/asyncapi")
        print(f"  Editor token: {data_dir / 'editor-token'} (or NEWSROOM_EDITOR_TOKEN)", flush=True)
        print(f"  Console:      {gateway}/admin/", flush=True)
        _remember_up(data_dir, gateway)
        console.print("Press Ctrl-C to stop.", highlight=False)
        while not stop.wait(0.5):
            for name in supervisor.restart_dead():
                console.print(f"[red]{name} had exited: restarted[/]")
    except RuntimeError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc
    finally:
        console.print("Stopping…")
        supervisor.stop_all()
        if embedded:
            embedded.stop()
        console.print("Stopped.")


def linked_pages(feed: Path) -> list[Path]:
    """The pages beside a feed file that its entries link to (by the link's file name):
    sent along, so that an entry without its full text gets its page's."""
    import feedparser

    try:
        entries = feedparser.parse(read_article_file(feed)).entries
    except RuntimeError:
        return []  # its import says why
    names = {
        PurePosixPath(unquote(urlsplit(entry.get("link", "")).path)).name
        for entry in entries
        if not entry.get("content")
    }
    return sorted(
        p
        for p in feed.parent.iterdir()
        if p.name.removesuffix(".gz") in names and kind_of(p) in (".html", ".htm") and p.is_file()
    )


def _import_file(
    path: Path, gateway: str, token: str, pages: list[Path] | None = None
) -> dict[str, Any]:
    """``pages``: a feed's linked pages, when the caller has found them already."""
    kind = kind_of(path)
    feed = kind in FEEDS
    headers = {"Authorization": f"Bearer {token}"}
    if feed and pages is None:
        pages = linked_pages(path)
    if feed and pages:
        response = httpx.post(
            f"{gateway}/api/v1/imports",
            files=[("feed", (path.name, read_article_file(path), FEEDS[kind]))]
            + [("page", (p.name, read_article_file(p), "text/html")) for p in pages],
            headers=headers,
            timeout=300,
        )
    else:
        content_type = (FEEDS if feed else CONTENT_TYPES).get(kind, "text/plain")
        response = httpx.post(
            f"{gateway}/api/v1/{'imports' if feed else 'articles/import'}",
            content=read_article_file(path),
            headers={**headers, "Content-Type": content_type},
            timeout=60,
        )
    if response.status_code >= 400:
        try:
            problem = response.json()
            detail = problem.get("detail") or problem.get("title")
            if problem.get("errors"):
                detail = f"{detail} " + "; ".join(
                    f"{e['field']}: {e['message']}" for e in problem["errors"]
                )
        except ValueError:
            detail = response.text[:200]
        raise RuntimeError(f"{path}: HTTP {response.status_code}: {detail}")
    return response.json()  # type: ignore[no-any-return]


@app.command("import")
def import_(
    paths: Annotated[list[Path], typer.Argument(exists=True, readable=True)],
    gateway: Annotated[str | None, typer.Option(help="Gateway base URL")] = None,
) -> None:
    """Send article files (.html, .json, page text dumps, RSS/Atom feeds .xml/.rss/.atom),
    or folders of them, to ingest."""
    gateway, token = _editor_access(gateway)
    given, paths = paths, _files(paths)
    if not paths:
        console.print(
            f"[red]Nothing to import[/] in {', '.join(map(str, given))}: no "
            f"{', '.join(sorted(IMPORTABLE))} file (nor one of them gzipped, .gz).",
            soft_wrap=True,
        )
        raise typer.Exit(2)
    # A feed's linked pages go with the feed, not as articles of their own as well.
    linked = {path: linked_pages(path) for path in paths if kind_of(path) in FEEDS}
    claimed = {page for pages in linked.values() for page in pages}
    paths = [path for path in paths if path not in claimed]
    counts = {"created": 0, "updated": 0, "unchanged": 0, "failed": 0}
    with Progress(console=console) as progress:
        task = progress.add_task("Importing", total=len(paths))
        for path in paths:
            try:
                outcome = _import_file(path, gateway, token, linked.get(path))
                if "feed" in outcome:  # a feed: its own summary line, each broken entry named
                    for kind in ("created", "updated", "unchanged"):
                        counts[kind] += outcome[kind]
                    counts["failed"] += len(outcome["failed"])
                    progress.console.print(
                        f"     feed  {path} ({outcome['feed']}): {outcome['created']} created, "
                        f"{outcome['updated']} updated, {outcome['unchanged']} unchanged, "
                        f"{len(outcome['failed'])} failed",
                        soft_wrap=True,
                        crop=False,
                        highlight=False,
                    )
                    for broken in outcome["failed"]:
                        progress.console.print(
                            f"[red]   failed  {broken['entry']}: {broken['reason']}[/]",
                            soft_wrap=True,
                            crop=False,
                        )
                    progress.advance(task)
                    continue
                counts[str(outcome["outcome"])] += 1
                article = outcome["article"]
                link = f"{gateway}/articles/{url_slug(article['slug'])}"
                # Whole lines: a wrapped or cropped URL cannot be clicked or copied.
                progress.console.print(
                    f"{outcome['outcome']:>9}  {path}  →  {link}",
                    soft_wrap=True,
                    crop=False,
                    highlight=False,
                )
            except (RuntimeError, httpx.HTTPError) as exc:
                counts["failed"] += 1
                progress.console.print(f"[red]   failed  {exc}[/]", soft_wrap=True, crop=False)
            progress.advance(task)
    print(", ".join(f"{v} {k}" for k, v in counts.items()))
    if counts["failed"]:
        raise typer.Exit(1)


articles_app = typer.Typer(
    help="Articles as editors see them: list, show, unpublish, restore, delete.",
    no_args_is_help=True,
)
app.add_typer(articles_app, name="articles")


def _editor_call(method: str, path: str, gateway: str | None, **options: Any) -> httpx.Response:
    base, token = _editor_access(gateway)
    try:
        response = httpx.request(
            method,
            f"{base}/api/v1{path}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
            **options,
        )
    except httpx.HTTPError as exc:
        console.print(f"[red]The gateway at {base} does not answer: {exc}[/]", soft_wrap=True)
        raise typer.Exit(1) from exc
    if response.status_code >= 400:
        try:
            problem = response.json()
            detail = problem.get("detail") or problem.get("title")
        except ValueError:
            detail = response.text[:200]
        console.print(f"[red]HTTP {response.status_code}: {detail}[/]", soft_wrap=True)
        raise typer.Exit(1)
    return response


Gateway = Annotated[str | None, typer.Option(help="Gateway base URL")]
KeyArg = Annotated[str, typer.Argument(help="The article's id or slug")]


@articles_app.command("list")
def articles_list(
    q: Annotated[str | None, typer.Option(help="Part of the title")] = None,
    status: Annotated[str | None, typer.Option(help="published, draft, scheduled, …")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 50,
    gateway: Gateway = None,
) -> None:
    """Every article (any status), last changed first."""
    params = {k: v for k, v in {"q": q, "status": status, "limit": limit}.items() if v}
    items = _editor_call("GET", "/editor/articles", gateway, params=params).json()["items"]
    for a in items:
        when = f"  at {a['publish_at']}" if a.get("publish_at") else ""
        print(f"{a['id']}  {a['status']:<11}  r{a['revision']:<3} {a['slug']}  {a['title']}{when}")
    print(f"{len(items)} articles")


@articles_app.command("show")
def articles_show(key: KeyArg, gateway: Gateway = None) -> None:
    """One article, whatever its status, as JSON (with its ETag)."""
    response = _editor_call("GET", f"/editor/articles/{key}", gateway)
    print(f"ETag: {response.headers.get('etag', '')}")
    print(json.dumps(response.json(), ensure_ascii=False, indent=2))


def _change(key: str, action: str, gateway: str | None) -> None:
    method, path = (
        ("DELETE", f"/articles/{key}")
        if action == "delete"
        else (
            "POST",
            f"/articles/{key}/{action}",
        )
    )
    outcome = _editor_call(method, path, gateway).json()
    article = outcome["article"]
    print(f"{outcome['outcome']}  {article['slug']}  ({article['status']})")


@articles_app.command("unpublish")
def articles_unpublish(key: KeyArg, gateway: Gateway = None) -> None:
    """Take an article off the site (restore brings it back)."""
    _change(key, "unpublish", gateway)


@articles_app.command("restore")
def articles_restore(key: KeyArg, gateway: Gateway = None) -> None:
    """Publish an unpublished or deleted article again."""
    _change(key, "restore", gateway)


@articles_app.command("delete")
def articles_delete(key: KeyArg, gateway: Gateway = None) -> None:
    """Delete an article: readers get 410."""
    _change(key, "delete", gateway)


webhooks_app = typer.Typer(
    help="Webhook subscriptions: list, deliveries, dead letters, re-drive, pause, resume.",
    no_args_is_help=True,
)
app.add_typer(webhooks_app, name="webhooks")
WebhookArg = Annotated[str, typer.Argument(help="The subscription's id")]


def _print_webhook(w: dict[str, Any]) -> None:
    why = f"  ({w['disabled_reason']})" if w.get("disabled_reason") else ""
    print(
        f"{w['id']}  {w['state']:<8}  pending {w['pending']:<5} dead {w['dead']:<5} "
        f"{w['url']}  {','.join(w['event_types'])}{why}"
    )


@webhooks_app.command("list")
def webhooks_list(gateway: Gateway = None) -> None:
    """Every subscription, with its pending and dead deliveries."""
    items = _editor_call("GET", "/webhooks", gateway).json()["items"]
    for w in items:
        _print_webhook(w)
    print(f"{len(items)} webhooks")


@webhooks_app.command("deliveries")
def webhooks_deliveries(
    key: WebhookArg,
    status: Annotated[str | None, typer.Option(help="pending, delivered or dead")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 50,
    gateway: Gateway = None,
) -> None:
    """The delivery log, newest first: attempts, the last answer, the next retry."""
    params = {k: v for k, v in {"status": status, "limit": limit}.items() if v}
    page = _editor_call("GET", f"/webhooks/{key}/deliveries", gateway, params=params).json()
    for d in page["items"]:
        answer = d["last_status_code"] or d["last_error"] or ""
        retry = f"  next {d['next_attempt_at']}" if d.get("next_attempt_at") else ""
        print(
            f"{d['id']:<8} {d['status']:<9} {d['event_type']:<19} {d['event_id']}  "
            f"attempts {d['attempts']}  {answer}{retry}"
        )
    print(f"{len(page['items'])} deliveries")


@webhooks_app.command("dead-letters")
def webhooks_dead_letters(key: WebhookArg, gateway: Gateway = None) -> None:
    """The events given up on (re-drive sends them again)."""
    webhooks_deliveries(key, status="dead", limit=200, gateway=gateway)


@webhooks_app.command("redrive")
def webhooks_redrive(key: WebhookArg, gateway: Gateway = None) -> None:
    """Send the dead letters again, in their stream order, with a fresh retry window."""
    done = _editor_call("POST", f"/webhooks/{key}/dead-letters/redrive", gateway).json()
    print(f"{done['redriven']} dead letters queued again")


@webhooks_app.command("pause")
def webhooks_pause(key: WebhookArg, gateway: Gateway = None) -> None:
    """Stop sending; events are kept and sent on resume."""
    _print_webhook(_editor_call("POST", f"/webhooks/{key}/pause", gateway).json())


@webhooks_app.command("resume")
def webhooks_resume(key: WebhookArg, gateway: Gateway = None) -> None:
    """Send again (a paused or a disabled subscription)."""
    _print_webhook(_editor_call("POST", f"/webhooks/{key}/resume", gateway).json())


@app.command("front-cache")
def front_cache(
    port: Annotated[int, typer.Option(help="Where readers reach the cache")] = 8080,
    gateway: Gateway = None,
) -> None:
    """Run Debian's nginx as the front cache of the gateway (deploy/nginx/), until Ctrl-C."""
    target = urlsplit(gateway or _running_gateway())
    data_dir = NewsroomSettings().data_dir.resolve()
    cache = FrontCache(target.netloc, port, data_dir / "front-cache")
    try:
        cache.start()
    except (FileNotFoundError, subprocess.CalledProcessError) as exc:
        console.print(f"[red]The front cache did not start:[/] {exc}")
        raise typer.Exit(1) from exc
    print(f"  Site through the front cache: {cache.url}/ (in front of {target.geturl()})")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        while not stop.wait(0.5) and cache.process is not None and cache.process.poll() is None:
            pass
    finally:
        cache.stop()


def _running_gateway() -> str:
    try:
        return str(json.loads(_state_file().read_text())["gateway"])
    except (OSError, ValueError, KeyError):
        return f"http://127.0.0.1:{NewsroomSettings().gateway_port}"


@app.command()
def tail(
    stream: Annotated[str, typer.Argument(help="Stream name without namespace, e.g. articles")],
    from_start: Annotated[
        bool, typer.Option("--from-start", help="Print the backlog first")
    ] = False,
    count: Annotated[int, typer.Option(help="Stop after this many events (0: never)")] = 0,
) -> None:
    """Print events of a stream as they arrive."""
    settings = NewsroomSettings()
    keys = (
        settings.streams.physical(stream) if stream in BY_NAME else [settings.streams.key(stream)]
    )
    client = _redis(settings)
    # Each stream (each partition) from its own last id: "$" is resolved once, at the start
    # (XREAD "$" at every call would miss what came between two calls).
    last_ids = {key: "0-0" if from_start else _last_id(client, key) for key in keys}
    seen = 0
    try:
        while True:
            # One key per read (a partitioned stream's keys lie in different slots); with
            # several, none blocks: the partitions are read in turn, then a short pause.
            replies: Any = []
            for key, last_id in last_ids.items():
                block = 1000 if len(keys) == 1 else None
                replies += client.xread({key: last_id}, block=block, count=100) or []
            if not replies and len(keys) > 1:
                time.sleep(0.2)
            for key, entries in replies:
                for entry_id, fields in entries:
                    last_ids[key.decode() if isinstance(key, bytes) else key] = entry_id
                    seen += 1
                    try:
                        headers, data = decode_envelope(fields)
                        title = (
                            (data.get("data") or {}).get("title", "")
                            if isinstance(data, dict)
                            else ""
                        )
                        console.print(
                            f"{entry_id.decode()}  {data.get('type', '?')}  {title}  "
                            f"traceparent={headers.get('traceparent', '-')}",
                            highlight=False,
                        )
                        console.print_json(json.dumps(data, ensure_ascii=False))
                    except (ValueError, KeyError, AttributeError):
                        console.print(f"{entry_id.decode()}  (not a Newsroom event) {fields!r}")
                    if count and seen >= count:
                        return
    except KeyboardInterrupt:
        pass
    finally:
        client.close()


@app.command()
def migrate(
    services: Annotated[
        list[str] | None,
        typer.Argument(help="ingest, views, comments, search, webhooks (default: all)"),
    ] = None,
    revision: Annotated[str, typer.Option(help="Target revision, e.g. head or 0001")] = "head",
    status: Annotated[bool, typer.Option(help="Only show each schema's revision")] = False,
    sql: Annotated[bool, typer.Option(help="Print the SQL instead of running it")] = False,
    contract: Annotated[
        bool,
        typer.Option(help="Also apply contract steps (once no older version runs)"),
    ] = False,
) -> None:
    """Migrate each service's database (NEWSROOM_<SERVICE>_DATABASE_URL, …) to a revision.

    Expand steps only, unless --contract: the version still running keeps working."""
    try:
        chosen = targets(services)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    for target in chosen:
        schema, url = target.schema, target.url
        if sql:
            schema.sql(url, revision)
        elif status:
            current = schema.current(url)
            mark = "up to date" if current == schema.head else f"behind (head {schema.head})"
            print(f"{target.service}\t{current or 'empty'}\t{mark}")
        else:
            before, after = schema.migrate_to(url, revision, contract=contract)
            waiting = "" if contract else ", ".join(schema.pending_contract(url))
            line = f"{target.service}\t{before or 'empty'} → {after or 'empty'}"
            print(line + (f"\t(contract {waiting} waits for --contract)" if waiting else ""))


@app.command()
def backup(
    directory: Annotated[Path, typer.Argument(help="Where the copies go (made if missing)")],
    services: Annotated[
        list[str] | None, typer.Option("--service", help="Only these (default: all)")
    ] = None,
) -> None:
    """Copy every service's database while traffic flows (SQLite's online backup, or
    pg_dump per database)."""
    from .backup import backup as take

    for copy in take(directory, services):
        print(f"{copy.service}: {directory / copy.file} ({copy.engine})")


@app.command()
def restore(
    directory: Annotated[Path, typer.Argument(exists=True, file_okay=False)],
    services: Annotated[
        list[str] | None, typer.Option("--service", help="Only these (default: all)")
    ] = None,
) -> None:
    """Put a backup back (stop the services first), then move their consumer groups back
    so that what the streams still hold replays into the restored databases."""
    from .backup import restore as put_back

    for group, start in put_back(directory, services).items():
        print(f"{group}: replays from {start}")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def drills(
    pytest_args: Annotated[
        list[str] | None, typer.Argument(help="Extra pytest arguments, e.g. -k redis")
    ] = None,
) -> None:
    """Run the fault drills (from a checkout) and print their table: sent, stored, lost, …"""
    import subprocess
    import sys

    suite = Path(__file__).resolve().parent.parent / "tests" / "drills"
    if not suite.is_dir():
        console.print("[red]The drills live in the source checkout (tests/drills); run from it.[/]")
        raise typer.Exit(2)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(suite),
            "-p",
            "no:cacheprovider",
            *(pytest_args or []),
        ],
        cwd=suite.parent.parent,
    )
    raise typer.Exit(done.returncode)


dlq_app = typer.Typer(help="Dead-letter streams: list, show, re-drive.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")


def _last_id(client: redis.Redis, key: str) -> str:
    """The id of the stream's last entry ("0-0" when it has none)."""
    last: Any = client.xrevrange(key, count=1)
    return last[0][0].decode() if last else "0-0"


def _redis_and_streams() -> tuple[redis.Redis, Streams]:
    settings = NewsroomSettings()
    return _redis(settings), settings.streams


def _redis(settings: NewsroomSettings) -> redis.Redis:
    """The Redis the settings name; a node of a cluster asked as one Redis is told plainly
    (its keys would answer MOVED)."""
    client = sync_redis(settings.redis_url, cluster=settings.redis_cluster)
    if not settings.redis_cluster:
        try:
            clustered = client.info("cluster").get("cluster_enabled") == 1
        except redis.RedisError:
            clustered = False  # unreachable: the command says so itself
        if clustered:
            console.print(
                f"[red]{settings.redis_url} is a node of a Redis Cluster: "
                "set NEWSROOM_REDIS_CLUSTER=true[/]"
            )
            raise typer.Exit(2)
    return client


@dlq_app.command("list")
def dlq_list() -> None:
    """How many entries each dead-letter stream holds."""
    client, streams = _redis_and_streams()
    for name, size in dlq.sizes(client, streams).items():
        keys = streams.physical(name)
        where = keys[0] if len(keys) == 1 else f"{name} ({len(keys)} partitions)"
        print(f"{where}.dlq\t{size}")


@dlq_app.command("show")
def dlq_show(
    stream: Annotated[str, typer.Argument(help="Stream name without namespace, e.g. views")],
    count: Annotated[int, typer.Option(help="At most this many")] = 20,
) -> None:
    """The dead letters of a stream: why each failed, and what it held."""
    client, streams = _redis_and_streams()
    for letter in dlq.show(client, streams, stream, count):
        print(
            f"{letter.entry_id}  from {letter.source_id} (group {letter.group}, "
            f"{letter.deliveries} deliveries, {letter.failed_at})\n  reason: {letter.reason}\n"
            f"  data: {letter.data[:300].decode(errors='replace')}"
        )


@dlq_app.command("redrive")
def dlq_redrive(
    stream: Annotated[str, typer.Argument(help="Stream name without namespace, e.g. views")],
    ids: Annotated[
        list[str] | None, typer.Option("--id", help="Only these dead-letter entry ids")
    ] = None,
) -> None:
    """Send dead letters back to their stream (after fixing what made them fail)."""
    client, streams = _redis_and_streams()
    moved = dlq.redrive(client, streams, stream, ids)
    keys = streams.physical(stream)
    print(f"{moved} re-driven to {keys[0] if len(keys) == 1 else f'the {stream} partitions'}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
