"""Files in the fake Bot API: customers' photos, documents and voice notes, ``getFile`` and the download URL.

Documented behaviour (Bot API: "getFile", "File", "PhotoSize", "Document", "Voice", "Message"):

* a message carries ``photo`` (an array of ``PhotoSize``, ascending), ``document`` {file_id,
  file_unique_id, file_name, mime_type, file_size} or ``voice`` {file_id, file_unique_id, duration,
  mime_type, file_size}, with an optional ``caption``;
* ``getFile(file_id)`` returns a ``File`` {file_id, file_unique_id, file_size, file_path}; the file is
  then served at ``https://api.telegram.org/file/bot<token>/<file_path>`` (valid at least one hour);
* bots may download files of up to 20 MB: ``getFile`` on a bigger one answers 400 "file is too big";
  an unknown id answers 400 "invalid file_id".
"""

from __future__ import annotations

import hashlib
import itertools
import threading
from typing import Any

from .exceptions import TelegramApiError

MAX_DOWNLOAD = 20 * 1024 * 1024


class Files:
    """Mixin of ``TelegramState``: stored files and the messages that carry them."""

    lock: threading.RLock
    files: dict[str, dict[str, Any]]

    # Defined by TelegramState; declared here for the type checker.
    def _private_chat(self, user_id: int) -> dict[str, Any]:
        raise NotImplementedError

    def _user(self, user_id: int) -> dict[str, Any]:
        raise NotImplementedError

    def _new_message(
        self, chat: dict[str, Any], sender: dict[str, Any], text: str, reply_to: int | None
    ) -> dict[str, Any]:
        raise NotImplementedError

    def _enqueue(self, kind: str, msg: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    _file_seq = itertools.count(1)

    def store_file(self, content: bytes, folder: str, suffix: str, *, size: int | None = None) -> dict[str, Any]:
        """Keep ``content`` as a file; ``size`` overrides the reported size (to fake a huge file)."""
        with self.lock:
            n = next(self._file_seq)
            digest = hashlib.sha256(content).hexdigest()[:16]
            entry: dict[str, Any] = {
                "file_id": f"AgACAgIAAxkBAAI{n:06d}{digest}",
                "file_unique_id": f"AQAD{digest[:8]}",
                "file_size": len(content) if size is None else size,
                "file_path": f"{folder}/file_{n}.{suffix}",
                "content": content,
            }
            self.files[entry["file_id"]] = entry
            return entry

    def user_sends_file(
        self,
        user_id: int,
        kind: str,
        content: bytes,
        *,
        caption: str | None = None,
        file_name: str | None = None,
        mime_type: str | None = None,
        size: int | None = None,
    ) -> dict[str, Any]:
        """A user sends the bot a ``photo``, ``document`` or ``voice`` in their private chat."""
        with self.lock:
            chat = self._private_chat(user_id)
            msg = self._new_message(chat, self._user(user_id), "", None)
            del msg["text"]
            if caption:
                msg["caption"] = caption
            if kind == "photo":
                small = self.store_file(content[:64], "photos", "jpg")
                large = self.store_file(content, "photos", "jpg", size=size)
                msg["photo"] = [
                    {**_public(small), "width": 90, "height": 67},
                    {**_public(large), "width": 1280, "height": 960},
                ]
            elif kind == "document":
                stored = self.store_file(content, "documents", (file_name or "file.bin").rsplit(".", 1)[-1], size=size)
                msg["document"] = {**_public(stored), "file_name": file_name, "mime_type": mime_type}
            elif kind == "voice":
                stored = self.store_file(content, "voice", "oga", size=size)
                msg["voice"] = {**_public(stored), "duration": 3, "mime_type": mime_type or "audio/ogg"}
            else:
                raise KeyError(f"unknown file kind {kind!r}")
            return self._enqueue("message", msg)

    def get_file(self, file_id: Any) -> dict[str, Any]:
        with self.lock:
            entry = self.files.get(str(file_id)) if isinstance(file_id, str) else None
            if entry is None:
                raise TelegramApiError(400, "Bad Request: invalid file_id")
            if entry["file_size"] > MAX_DOWNLOAD:
                raise TelegramApiError(400, "Bad Request: file is too big")
            return _public(entry) | {"file_path": entry["file_path"]}

    def file_content(self, file_path: str) -> bytes | None:
        with self.lock:
            return next((f["content"] for f in self.files.values() if f["file_path"] == file_path), None)


def _public(entry: dict[str, Any]) -> dict[str, Any]:
    return {"file_id": entry["file_id"], "file_unique_id": entry["file_unique_id"], "file_size": entry["file_size"]}
