"""Our own event model.

Transports (simulator, wechaty) translate what their network delivers into these
frozen dataclasses, so nothing outside a transport ever sees a transport's own
objects. Names follow wechaty's events (`room-join` -> `MemberJoined`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

# What a group message may be (`GroupMessage.kind`): typed text, a link card (wechaty `Url`), a
# mini-program card, a contact card (名片), a picture, a picture known to be a QR code (the
# simulator's `[二维码]`; wechaty cannot tell a QR picture from a photo), or anything else.
MESSAGE_KINDS = ("text", "link", "mini_program", "contact_card", "image", "qr_image", "other")


@dataclass(frozen=True, slots=True)
class Member:
    """A chat account as a transport reports it; `id` is the only identity."""

    id: str
    name: str


@dataclass(frozen=True, slots=True)
class GroupMessage:
    """A message said in a group: text, or (`kind`) a link, card or picture with its text form.

    `kind` is "text" for what members type. Other kinds (`MESSAGE_KINDS`) carry a text form
    of what was posted (a link's title and URL, a card's name) so moderation can read it; the
    router hands them only to handlers that ask for them, never to commands, orders or the FAQ.
    """

    message_id: str
    group_id: str
    sender: Member
    text: str
    time: datetime
    mentions: tuple[str, ...] = ()
    group_name: str = ""
    mentions_bot: bool = False
    kind: str = "text"


@dataclass(frozen=True, slots=True)
class PrivateMessage:
    """A text message sent to the bot directly (not in a group)."""

    message_id: str
    sender: Member
    text: str
    time: datetime


@dataclass(frozen=True, slots=True)
class MemberJoined:
    """One or more members joined a group (wechaty `room-join`)."""

    group_id: str
    members: tuple[Member, ...]
    time: datetime
    inviter: Member | None = None
    group_name: str = ""
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class MemberLeft:
    """One or more members left or were removed from a group (`room-leave`)."""

    group_id: str
    members: tuple[Member, ...]
    time: datetime
    group_name: str = ""
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class GroupRenamed:
    """A group's topic changed (`room-topic`); ids stay, names are refreshed."""

    group_id: str
    new_name: str
    time: datetime
    old_name: str = ""


@dataclass(frozen=True, slots=True)
class TransportStatus:
    """Login, logout, disconnects and errors reported by a transport."""

    kind: str  # "login" | "logout" | "disconnected" | "reconnected" | "removed_from_group" | "error"
    time: datetime
    detail: str = ""
    group_id: str = ""
    account_id: str = ""


Event = GroupMessage | PrivateMessage | MemberJoined | MemberLeft | GroupRenamed | TransportStatus


# The outbox kind of a picture the bot sends: the row's text is the path of a PNG already on disk
# (written under the data folder before it is queued), so an image survives a restart like any post,
# in the same table, without a column of its own. Transports send the file; the group mask and the
# merging of queued messages never touch it.
IMAGE_KIND = "image"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message the outbox hands to a transport.

    Exactly one of `group_id` / `member_id` is set: a group post or a private
    message. `mentions` are member ids to @-mention where the network supports it.
    With `kind` IMAGE_KIND, `text` is the path of the picture file to send.
    """

    text: str
    group_id: str = ""
    member_id: str = ""
    mentions: tuple[str, ...] = field(default_factory=tuple)
    outbox_id: int = 0
    kind: str = ""

    @property
    def is_image(self) -> bool:
        """A picture: `text` is the path of its file, not words to say."""
        return self.kind == IMAGE_KIND
