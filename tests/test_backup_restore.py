"""`yiwang backup` / `yiwang restore`: the archive format, and a round trip of the demo city.

The round trip runs the real commands in child processes: migrate and load the demo city into one
installation (its own var dir, database and keys), back it up, restore the archive into a second,
empty installation with keys of its own, and verify there: the audit chain, every license
signature and every file's hash; then read the restored data back through the restored keys.
"""

import io
import os
import sqlite3

import pytest

from tests.installs import PASSPHRASE, Install
from yiwang.core.backup import CHUNK, BackupError, EncryptingWriter, decrypt_stream


@pytest.fixture(autouse=True)
def _chinese():
    """The messages asserted here are the Chinese ones (they have English translations too, and a
    test before this one in the same worker may have left English active)."""
    from django.utils import translation

    with translation.override("zh-hans"):
        yield


def _seal(data: bytes, passphrase: str = PASSPHRASE) -> bytes:
    out = io.BytesIO()
    writer = EncryptingWriter(out, passphrase)
    writer.write(data)
    writer.close()
    return out.getvalue()


def _open(blob: bytes, passphrase: str = PASSPHRASE) -> bytes:
    return b"".join(decrypt_stream(io.BytesIO(blob), passphrase))


# ------------------------------------------------------------------ the encrypted stream


def test_stream_round_trips_across_chunks():
    data = os.urandom(2 * CHUNK + 12345)
    blob = _seal(data)
    assert data not in blob
    assert _open(blob) == data
    assert _open(_seal(b"")) == b""


def test_wrong_passphrase_is_refused():
    with pytest.raises(BackupError, match="口令错误"):
        _open(_seal(b"secret data"), "another passphrase!")


@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_any_altered_byte_is_refused(where):
    blob = bytearray(_seal(os.urandom(2 * CHUNK + 10)))
    header_end = blob.index(b"\n", 20) + 1
    index = {"first": header_end + 10, "middle": header_end + CHUNK + 100, "last": len(blob) - 3}[where]
    blob[index] ^= 0x01
    with pytest.raises(BackupError):
        _open(bytes(blob))


def test_truncated_archive_is_refused_even_at_a_chunk_boundary():
    data = os.urandom(2 * CHUNK + 10)
    blob = _seal(data)
    header_end = blob.index(b"\n", 20) + 1
    one_chunk = 4 + CHUNK + 16
    with pytest.raises(BackupError, match="不完整"):
        _open(blob[: header_end + one_chunk])  # a whole chunk dropped from the end
    with pytest.raises(BackupError, match="不完整"):
        _open(blob[:-5])


def test_reordered_chunks_and_trailing_bytes_are_refused():
    blob = _seal(os.urandom(2 * CHUNK + 10))
    header_end = blob.index(b"\n", 20) + 1
    one_chunk = 4 + CHUNK + 16
    first, second = blob[header_end : header_end + one_chunk], blob[header_end + one_chunk : header_end + 2 * one_chunk]
    swapped = blob[:header_end] + second + first + blob[header_end + 2 * one_chunk :]
    with pytest.raises(BackupError):
        _open(swapped)
    with pytest.raises(BackupError, match="多余"):
        _open(blob + b"\x00\x00\x00\x10" + b"x" * 16)


def test_not_an_archive():
    with pytest.raises(BackupError, match="不是"):
        _open(b"PK\x03\x04 a zip file")


# ------------------------------------------------------------------ the demo city, backed up and restored


SNAPSHOT = """
from yiwang.cases.models import Case, CaseMaterial
from yiwang.core.models import AuditEvent
from yiwang.identity.models import User
from yiwang.licenses.models import License
print(AuditEvent.objects.count(), Case.objects.count(), CaseMaterial.objects.count(), License.objects.count())
citizen = User.objects.get(username="citizen01")
print(citizen.id_number)  # decrypts with the data key
"""


@pytest.mark.slow
def test_demo_city_round_trip(tmp_path):
    source, target = Install(tmp_path, "src"), Install(tmp_path, "dst")
    try:
        source.migrate()
        source.run("demo")
        source.run("worker", "--batch")  # the queued event tasks: licenses issued for the decided demo cases
        before = source.python(SNAPSHOT)
        archive = tmp_path / "city.ywbk"
        out = source.run("backup", "--output", str(archive)).stdout
        assert "备份完成" in out
        raw = archive.read_bytes()
        assert b"citizen01" not in raw and b"SQLite format" not in raw  # encrypted as a whole
        assert (archive.stat().st_mode & 0o777) == 0o600

        # The second installation has generated keys of its own: restore must bring the backup's.
        target.run("check")
        assert (target.var / "data_key").read_text() != (source.var / "data_key").read_text()

        restored = target.run("restore", str(archive), check=False)
        assert restored.returncode == 0, restored.stderr  # the right passphrase is in the environment
        assert "core.audit_chain: 通过" in restored.stdout, restored.stdout + restored.stderr
        assert "licenses.signatures: 通过" in restored.stdout
        assert "files: 通过" in restored.stdout
        assert (target.var / "data_key").read_text() == (source.var / "data_key").read_text()
        assert target.python(SNAPSHOT) == before
        counts = before.split()
        assert int(counts[2]) > 0 and int(counts[3]) > 0, "the demo city has files and licenses to check"

        # Restoring again over the data is refused unless the operator says --replace.
        again = target.run("restore", str(archive), check=False)
        assert again.returncode != 0 and "不是空的" in again.stderr
        target.run("restore", str(archive), "--replace")
        assert target.python(SNAPSHOT) == before

        # A tampered copy restores nothing.
        tampered = tmp_path / "tampered.ywbk"
        blob = bytearray(raw)
        blob[len(blob) // 2] ^= 0x40
        tampered.write_bytes(bytes(blob))
        third = Install(tmp_path, "third")
        try:
            refused = third.run("restore", str(tampered), check=False)
            assert refused.returncode != 0 and "改动" in refused.stderr
            if third.pg_name is None:
                db = third.var / "yiwang.sqlite3"
                tables = (
                    sqlite3.connect(db).execute("select count(*) from sqlite_master").fetchone()[0]
                    if db.exists()
                    else 0
                )
                assert tables == 0
            assert not (third.var / "media").exists() or not any((third.var / "media").rglob("*.pdf"))
        finally:
            third.drop()

        # An altered file in storage is caught by `yiwang integrity`.
        victim = next(p for p in (target.var / "media").rglob("*") if p.is_file())
        victim.write_bytes(victim.read_bytes() + b"x")
        manifest = next((target.var / "backups").glob("restored-*.manifest.json"))
        check = target.run("integrity", "--manifest", str(manifest), check=False)
        assert check.returncode == 1 and victim.name in check.stdout
    finally:
        source.drop()
        target.drop()
