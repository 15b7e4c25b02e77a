"""Atomic writes: nothing half-written under the final name, old content kept on failure."""

from __future__ import annotations

import errno
import os

import pytest

from dbdbench.atomic import write_bytes_atomic, write_text_atomic
from dbdbench.errors import DbdError


def test_write_and_replace(tmp_path):
    p = write_text_atomic(tmp_path / "sub" / "a.txt", "one")
    write_text_atomic(p, "two")
    assert p.read_text() == "two"
    assert sorted(os.listdir(p.parent)) == ["a.txt"]


def test_full_disk_leaves_old_file_and_no_temp(tmp_path, monkeypatch):
    p = write_bytes_atomic(tmp_path / "a.bin", b"old")
    real_replace = os.replace

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(DbdError, match="No space left on device.*free disk space"):
        write_bytes_atomic(p, b"new")
    monkeypatch.setattr(os, "replace", real_replace)
    assert p.read_bytes() == b"old"
    assert sorted(os.listdir(tmp_path)) == ["a.bin"]


def test_permissions_follow_umask(tmp_path):
    old = os.umask(0o022)
    os.umask(old)
    p = write_text_atomic(tmp_path / "page.html", "x")
    assert (p.stat().st_mode & 0o777) == (0o666 & ~old)


def test_temporaries_of_killed_writers_are_removed_on_failure(tmp_path):
    from dbdbench.atomic import temporaries_removed_on_failure

    # what a writer killed between mkstemp and rename leaves behind, and files that are not its own
    (tmp_path / ".a.png.x1y2.tmp").write_bytes(b"half")
    (tmp_path / ".other.png.q.tmp").write_bytes(b"someone else's")
    (tmp_path / "a.png.keep").write_bytes(b"")
    with (
        pytest.raises(KeyboardInterrupt),
        temporaries_removed_on_failure([tmp_path / "a.png", tmp_path / "b.png"]),
    ):
        raise KeyboardInterrupt
    assert sorted(os.listdir(tmp_path)) == [".other.png.q.tmp", "a.png.keep"]
