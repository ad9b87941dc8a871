"""Scheduled multi-group broadcasts (issue 18): `/broadcast` from chat and
`broadcasts.messages` from campaign files, a private preview, a salutation per group, a reply
code and (with the web board) a tracking link per group, list and cancel (docs/broadcast.md)."""

from bot.context import Services
from bot.feature import Feature, Lifecycle
from handlers.broadcast import chat, jobs
from handlers.broadcast.clicks import serve_links
from handlers.broadcast.codes_memory import BroadcastsShared
from handlers.broadcast.figures import figures
from handlers.broadcast.from_files import file_sync
from handlers.broadcast.service import broadcasts_of


def setup(services: Services, lifecycle: Lifecycle) -> None:
    """Hold every live tracking code in memory from the start, so neither the reply matcher nor
    the link route queries; at start, make sure every pending broadcast has its job, then keep
    the campaign files' messages scheduled while they change."""
    book = broadcasts_of(services)
    book.load_codes()
    services.shared_state.append(BroadcastsShared(book))  # codes other account processes create
    serve_links(services)
    sync = file_sync(services)
    lifecycle.on_start(lambda: jobs.reschedule_pending(services))
    lifecycle.on_start(sync.start)
    lifecycle.on_stop(sync.stop)


FEATURE = Feature("broadcast", modules=(chat,), setup=setup, figures=figures)
