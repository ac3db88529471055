"""A secret in a file (a mounted Kubernetes Secret, a projected token), re-read whenever the file changes.

Kubernetes updates a Secret volume by swapping a symlink, so the file's identity (device, inode),
size and modification time together say "changed"; a stat per use is cheap, a read is only done
when they differ. Every value read is registered for log masking before anyone sees it.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from controller.dws.credentials.base import CredentialsUnavailable
from controller.logs import register_secrets

OPERATION = "credentials"


class SecretFileError(CredentialsUnavailable):
    """The file cannot be read or holds nothing; the message names the file, never its content."""

    def __init__(self, detail: str) -> None:
        super().__init__(OPERATION, detail)


class SecretFile:
    """`get_secret_value()` like a pydantic SecretStr, but read from `path`, stripped, on change."""

    def __init__(self, path: Path | str, *, what: str = "secret file") -> None:
        self.path = Path(path)
        self.what = what
        self._stamp: tuple[int, int, int, int] | None = None
        self._value = ""
        self._lock = threading.Lock()

    def get_secret_value(self) -> str:
        with self._lock:
            try:
                info = os.stat(self.path)
                stamp = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
                if stamp != self._stamp:
                    self._value = self._read()
                    self._stamp = stamp
            except OSError as exc:
                raise SecretFileError(
                    f"cannot read {self.what} {self.path}: {exc.strerror or exc}"
                ) from None
            return self._value

    def _read(self) -> str:
        try:
            value = self.path.read_text(encoding="utf-8").strip()
        except UnicodeDecodeError:
            raise SecretFileError(f"{self.what} {self.path} is not UTF-8 text") from None
        if not value:
            raise SecretFileError(f"{self.what} {self.path} is empty")
        register_secrets(value)
        return value

    def __repr__(self) -> str:
        return f"SecretFile({str(self.path)!r})"
