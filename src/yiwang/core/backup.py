"""One consistent, encrypted backup archive of an installation, and its restore.

What an archive holds (a tar stream, encrypted as a whole):

* ``database.sqlite3`` (SQLite's online backup API: a consistent snapshot while the site runs) or
  ``database.pgdump`` (``pg_dump --format=custom``: one REPEATABLE READ snapshot);
* ``media/…``: every uploaded or generated file in the default storage (local disk or object store);
* ``keys.json``: ``YIWANG_SECRET_KEY``, ``YIWANG_DATA_KEY`` and ``YIWANG_SEAL_KEY`` — without them the
  encrypted personal data and the seals' private keys in the dump cannot be read;
* ``manifest.json``: format, time, database vendor, the audit chain head at the snapshot, and the
  size and SM3 hash of every file, written last so that restore can check each file against it.

The database is dumped before the files are copied. A file is written before the row that names
it commits, so every file the snapshot refers to already exists when the copy starts; the only gap
is a file deleted between the two steps (a draft removed by its applicant in that second), which
the manifest lists under ``missing`` and restore reports.

Encryption: the operator's passphrase goes through scrypt (N=2^15, r=8, p=1, 16-byte salt) to a
128-bit key; the stream is cut into 1 MiB chunks, each sealed with SM4-GCM under a nonce made of a
random 8-byte prefix and the chunk counter, with the header and a last-chunk flag as associated
data. A wrong passphrase, an altered byte, reordered, dropped or appended chunks, and a truncated
archive all fail before anything is restored.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import shutil
import sqlite3
import struct
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from django.conf import settings
from django.core.files.storage import Storage, default_storage
from django.db import connections
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.core.crypto import sm3_hex

MAGIC = b"YIWANG-BACKUP-1\n"
FORMAT = 1
CHUNK = 1 << 20
_SCRYPT = {"n": 2**15, "r": 8, "p": 1}
KEY_NAMES = ("SECRET_KEY", "DATA_KEY", "SEAL_KEY")
KEY_FILES = {"SECRET_KEY": "secret_key", "DATA_KEY": "data_key", "SEAL_KEY": "seal_key"}
KEY_ENV = {"SECRET_KEY": "YIWANG_SECRET_KEY", "DATA_KEY": "YIWANG_DATA_KEY", "SEAL_KEY": "YIWANG_SEAL_KEY"}
MIN_PASSPHRASE = 12


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why, in the operator's language."""


# ------------------------------------------------------------------ the encrypted stream


def _derive(passphrase: str, salt: bytes, params: dict) -> bytes:
    return Scrypt(salt=salt, length=16, n=params["n"], r=params["r"], p=params["p"]).derive(passphrase.encode())


def _nonce(prefix: bytes, counter: int) -> bytes:
    return prefix + struct.pack(">I", counter)


class EncryptingWriter(io.RawIOBase):
    """A write-only file object: what is written comes out SM4-GCM sealed in 1 MiB chunks."""

    def __init__(self, out: IO[bytes], passphrase: str):
        super().__init__()
        salt, self._prefix = os.urandom(16), os.urandom(8)
        header = {
            "format": FORMAT,
            "kdf": "scrypt",
            **_SCRYPT,
            "salt": base64.b64encode(salt).decode(),
            "nonce_prefix": base64.b64encode(self._prefix).decode(),
            "chunk": CHUNK,
            "cipher": "SM4-GCM",
        }
        self._header = MAGIC + json.dumps(header, sort_keys=True).encode() + b"\n"
        self._key = _derive(passphrase, salt, _SCRYPT)
        self._out = out
        self._buffer = bytearray()
        self._counter = 0
        out.write(self._header)

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._buffer += data
        while len(self._buffer) > CHUNK:  # keep at least one byte back: the last chunk is sealed as last
            self._seal(bytes(self._buffer[:CHUNK]), last=False)
            del self._buffer[:CHUNK]
        return len(data)

    def _seal(self, plain: bytes, *, last: bool) -> None:
        if self._counter >= 2**32 - 1:
            raise BackupError(_("备份过大:超过加密分块上限"))
        enc = Cipher(algorithms.SM4(self._key), modes.GCM(_nonce(self._prefix, self._counter))).encryptor()
        enc.authenticate_additional_data(self._header + struct.pack(">IB", self._counter, int(last)))
        sealed = enc.update(plain) + enc.finalize() + enc.tag
        self._out.write(struct.pack(">I", len(sealed)) + sealed)
        self._counter += 1

    def close(self) -> None:
        if not self.closed:
            self._seal(bytes(self._buffer), last=True)
            self._buffer.clear()
            self._out.flush()
        super().close()


def _read_exact(source: IO[bytes], size: int) -> bytes:
    data = source.read(size)
    if len(data) != size:
        raise BackupError(_("备份文件不完整(被截断),无法恢复"))
    return data


def decrypt_stream(source: IO[bytes], passphrase: str) -> Iterator[bytes]:
    """Yield the plaintext chunks of an archive; raise BackupError on any alteration or a wrong passphrase."""
    magic = source.read(len(MAGIC))
    if magic != MAGIC:
        raise BackupError(_("这不是一网备份文件(文件头不符)"))
    line = source.readline(4096)
    try:
        header = json.loads(line)
        salt = base64.b64decode(header["salt"])
        prefix = base64.b64decode(header["nonce_prefix"])
        params = {name: int(header[name]) for name in ("n", "r", "p")}
    except (ValueError, KeyError, TypeError) as exc:
        raise BackupError(_("备份文件头已损坏")) from exc
    if header.get("format") != FORMAT or header.get("cipher") != "SM4-GCM" or len(prefix) != 8:
        raise BackupError(_("不支持的备份格式版本:%(format)s") % {"format": header.get("format")})
    aad_head = MAGIC + line
    key = _derive(passphrase, salt, params)
    counter = 0
    while True:
        size_bytes = source.read(4)
        if len(size_bytes) != 4:
            raise BackupError(_("备份文件不完整(被截断),无法恢复"))
        (size,) = struct.unpack(">I", size_bytes)
        if size < 16 or size > CHUNK + 16:
            raise BackupError(_("备份文件第 %(n)d 块长度异常,文件已被改动") % {"n": counter + 1})
        sealed = _read_exact(source, size)
        plain = _open_chunk(key, prefix, aad_head, counter, sealed, last=False)
        if plain is not None:
            counter += 1
            yield plain
            continue
        plain = _open_chunk(key, prefix, aad_head, counter, sealed, last=True)
        if plain is None:
            if counter == 0:
                raise BackupError(_("口令错误,或备份文件已被改动"))
            raise BackupError(_("备份文件第 %(n)d 块校验失败:文件已被改动") % {"n": counter + 1})
        if source.read(1):
            raise BackupError(_("备份文件末尾有多余数据:文件已被改动"))
        yield plain
        return


def _open_chunk(key: bytes, prefix: bytes, aad_head: bytes, counter: int, sealed: bytes, *, last: bool):
    dec = Cipher(algorithms.SM4(key), modes.GCM(_nonce(prefix, counter), sealed[-16:])).decryptor()
    dec.authenticate_additional_data(aad_head + struct.pack(">IB", counter, int(last)))
    try:
        return dec.update(sealed[:-16]) + dec.finalize()
    except InvalidTag:
        return None


class _ChunkReader(io.RawIOBase):
    """A readable file object over decrypt_stream, for tarfile's streaming mode."""

    def __init__(self, chunks: Iterator[bytes]):
        super().__init__()
        self._chunks = chunks
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        while not self._buffer:
            try:
                self._buffer = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size


# ------------------------------------------------------------------ what is backed up


def _vendor(alias: str = "default") -> str:
    return connections[alias].vendor


def _pg_env(alias: str = "default") -> tuple[list[str], dict]:
    db = settings.DATABASES[alias]
    args = ["--host", str(db.get("HOST") or "127.0.0.1"), "--port", str(db.get("PORT") or 5432)]
    if db.get("USER"):
        args += ["--username", db["USER"]]
    env = {**os.environ}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    return args, env


def _dump_database(target_dir: Path) -> Path:
    vendor = _vendor()
    if vendor == "sqlite":
        path = target_dir / "database.sqlite3"
        source = sqlite3.connect(str(settings.DATABASES["default"]["NAME"]))
        dest = sqlite3.connect(str(path))
        try:
            source.backup(dest)
        finally:
            dest.close()
            source.close()
        return path
    if vendor == "postgresql":
        path = target_dir / "database.pgdump"
        args, env = _pg_env()
        command = [
            "pg_dump",
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            *args,
            "--file",
            str(path),
            settings.DATABASES["default"]["NAME"],
        ]
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise BackupError(_("pg_dump 失败:%(error)s") % {"error": result.stderr.strip()})
        return path
    raise BackupError(_("不支持的数据库:%(vendor)s") % {"vendor": vendor})


def storage_files(storage: Storage, folder: str = "") -> Iterator[str]:
    """Every file name below ``folder`` in a storage (local disk or object store), depth first."""
    try:
        folders, files = storage.listdir(folder)
    except FileNotFoundError:
        return
    for name in sorted(files):
        yield f"{folder}/{name}" if folder else name
    for sub in sorted(folders):
        yield from storage_files(storage, f"{folder}/{sub}" if folder else sub)


def _audit_head() -> dict:
    from yiwang.core.models import AuditChainHead

    head = AuditChainHead.objects.filter(pk=1).values("sequence", "hash").first()
    return head or {"sequence": 0, "hash": ""}


@dataclass
class BackupReport:
    path: Path
    files: int = 0
    bytes: int = 0
    missing: list[str] = field(default_factory=list)
    audit_head: dict = field(default_factory=dict)
    vendor: str = ""


def backup_create(*, output: Path, passphrase: str, storage: Storage | None = None) -> BackupReport:
    """Write one encrypted archive of the database, the stored files and the keys to ``output``.

    The archive is written to a temporary name beside ``output`` and renamed when complete, so an
    interrupted backup never leaves a file that looks whole.
    """
    if len(passphrase) < MIN_PASSPHRASE:
        raise BackupError(_("备份口令至少需要 %(n)d 个字符") % {"n": MIN_PASSPHRASE})
    storage = storage or default_storage
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    report = BackupReport(path=output, vendor=_vendor(), audit_head=_audit_head())
    partial = output.with_name(output.name + ".partial")
    with tempfile.TemporaryDirectory(prefix="yiwang-backup-") as work:
        dump = _dump_database(Path(work))
        manifest: dict = {
            "format": FORMAT,
            "created_at": timezone.now().isoformat(),
            "vendor": report.vendor,
            "database": dump.name,
            "database_sm3": _file_sm3(dump),
            "audit_head": report.audit_head,
            "files": [],
            "missing": [],
        }
        try:
            with open(partial, "wb") as raw:
                writer = EncryptingWriter(raw, passphrase)
                with tarfile.open(fileobj=writer, mode="w|") as tar:
                    tar.add(dump, arcname=dump.name)
                    keys = json.dumps({name: getattr(settings, name) for name in KEY_NAMES}).encode()
                    _add_bytes(tar, "keys.json", keys)
                    for name in storage_files(storage):
                        try:
                            with storage.open(name, "rb") as handle:
                                data = handle.read()
                        except FileNotFoundError:
                            manifest["missing"].append(name)
                            continue
                        _add_bytes(tar, f"media/{name}", data)
                        manifest["files"].append({"name": name, "size": len(data), "sm3": sm3_hex(data)})
                        report.files += 1
                        report.bytes += len(data)
                    _add_bytes(tar, "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1).encode())
                writer.close()
                os.fsync(raw.fileno())
            os.chmod(partial, 0o600)
            os.replace(partial, output)
        finally:
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
    report.missing = manifest["missing"]
    return report


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    info.mtime = int(timezone.now().timestamp())
    tar.addfile(info, io.BytesIO(data))


def _file_sm3(path: Path) -> str:
    return sm3_hex(path.read_bytes())


# ------------------------------------------------------------------ restore


@dataclass
class RestoreReport:
    vendor: str = ""
    files: int = 0
    missing: list[str] = field(default_factory=list)
    keys_written: list[str] = field(default_factory=list)
    keys_to_set: list[str] = field(default_factory=list)
    manifest: dict = field(default_factory=dict)


def _safe_member(name: str) -> bool:
    parts = Path(name).parts
    return bool(parts) and not Path(name).is_absolute() and ".." not in parts


def backup_unpack(*, archive: Path, passphrase: str, into: Path) -> dict:
    """Decrypt and unpack an archive into a folder; return its manifest, every file checked against it.

    The whole archive is authenticated chunk by chunk while it is read; nothing outside ``into`` is
    touched, so a wrong passphrase or an altered archive leaves the installation as it was.
    """
    try:
        source = open(archive, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise BackupError(_("无法读取备份文件:%(error)s") % {"error": exc}) from exc
    with source:
        reader = io.BufferedReader(_ChunkReader(decrypt_stream(source, passphrase)), buffer_size=CHUNK)
        try:
            with tarfile.open(fileobj=reader, mode="r|") as tar:
                for member in tar:
                    if not member.isfile() or not _safe_member(member.name):
                        raise BackupError(_("备份中有不安全的条目:%(name)s") % {"name": member.name})
                    target = into / member.name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    extracted = tar.extractfile(member)
                    with open(target, "wb") as out:
                        shutil.copyfileobj(extracted, out)
        except tarfile.TarError as exc:
            raise BackupError(_("备份内容无法解包:%(error)s") % {"error": exc}) from exc
    try:
        manifest = json.loads((into / "manifest.json").read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(_("备份中缺少清单 manifest.json")) from exc
    database = into / manifest.get("database", "")
    if not database.is_file() or _file_sm3(database) != manifest.get("database_sm3"):
        raise BackupError(_("备份中的数据库文件与清单不符"))
    for entry in manifest["files"]:
        path = into / "media" / entry["name"]
        if not path.is_file() or sm3_hex(path.read_bytes()) != entry["sm3"]:
            raise BackupError(_("备份中的文件与清单不符:%(name)s") % {"name": entry["name"]})
    return manifest


def _database_is_empty(vendor: str) -> bool:
    connection = connections["default"]
    return not connection.introspection.table_names()


def _restore_database(path: Path, vendor: str, *, replace: bool) -> None:
    if vendor != _vendor():
        raise BackupError(
            _("备份来自 %(backup)s 数据库,当前配置的是 %(current)s:请把 DATABASE_URL 指向同类数据库")
            % {"backup": vendor, "current": _vendor()}
        )
    if not _database_is_empty(vendor) and not replace:
        raise BackupError(_("目标数据库不是空的(已有数据表)。请在全新的数据库上恢复,或加 --replace 覆盖现有数据。"))
    connections["default"].close()
    if vendor == "sqlite":
        name = Path(settings.DATABASES["default"]["NAME"])
        name.parent.mkdir(parents=True, exist_ok=True)
        partial = name.with_name(name.name + ".restoring")
        shutil.copyfile(path, partial)
        for suffix in ("-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                name.with_name(name.name + suffix).unlink()
        os.replace(partial, name)
        return
    args, env = _pg_env()
    command = [
        "pg_restore",
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--single-transaction",
        *args,
        "--dbname",
        settings.DATABASES["default"]["NAME"],
    ]
    if replace:
        command += ["--clean", "--if-exists"]
    result = subprocess.run([*command, str(path)], env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(_("pg_restore 失败,数据库未改动:%(error)s") % {"error": result.stderr.strip()})


def _restore_files(folder: Path, manifest: dict, storage: Storage) -> int:
    count = 0
    for entry in manifest["files"]:
        name = entry["name"]
        if storage.exists(name):
            storage.delete(name)
        with open(folder / "media" / name, "rb") as handle:
            saved = storage.save(name, handle)
        if saved != name:
            raise BackupError(_("文件存储把 %(name)s 存成了 %(saved)s") % {"name": name, "saved": saved})
        count += 1
    return count


def _restore_keys(keys: dict, report: RestoreReport) -> None:
    """Write the backup's keys under var/; where the environment sets a key, it must be the backup's."""
    var_dir = Path(settings.VAR_DIR)
    for name in KEY_NAMES:
        value = keys.get(name)
        if not value:
            raise BackupError(_("备份中缺少密钥 %(name)s") % {"name": name})
        if os.environ.get(KEY_ENV[name]):
            if os.environ[KEY_ENV[name]] != value:
                report.keys_to_set.append(KEY_ENV[name])
            continue
        path = var_dir / KEY_FILES[name]
        path.write_text(value)
        path.chmod(0o600)
        report.keys_written.append(str(path))


def backup_restore(
    *, archive: Path, passphrase: str, replace: bool = False, storage: Storage | None = None
) -> RestoreReport:
    """Restore an archive onto this installation: database, stored files, keys.

    Everything is decrypted and checked against the manifest before the first write. Keys set in
    the environment are not overwritten; when they differ from the backup's, the restore stops
    before touching the database and names the variables to set.
    """
    storage = storage or default_storage
    report = RestoreReport()
    with tempfile.TemporaryDirectory(prefix="yiwang-restore-") as work:
        folder = Path(work)
        manifest = backup_unpack(archive=Path(archive), passphrase=passphrase, into=folder)
        report.manifest = manifest
        report.vendor = manifest["vendor"]
        report.missing = manifest.get("missing", [])
        keys = json.loads((folder / "keys.json").read_text())
        mismatched = [
            KEY_ENV[name]
            for name in KEY_NAMES
            if os.environ.get(KEY_ENV[name]) and os.environ[KEY_ENV[name]] != keys.get(name)
        ]
        if mismatched:
            raise BackupError(
                _(
                    "环境变量 %(names)s 与备份中的密钥不同:备份的加密数据将无法读取。请改用备份中的密钥"
                    "(yiwang restore --export-keys 可导出),或不设置这些变量。"
                )
                % {"names": ", ".join(mismatched)}
            )
        _restore_database(folder / manifest["database"], manifest["vendor"], replace=replace)
        report.files = _restore_files(folder, manifest, storage)
        _restore_keys(keys, report)
    return report


def backup_keys(*, archive: Path, passphrase: str) -> dict:
    """The keys inside an archive (for an operator who sets them by environment on every machine)."""
    with tempfile.TemporaryDirectory(prefix="yiwang-restore-") as work:
        backup_unpack(archive=Path(archive), passphrase=passphrase, into=Path(work))
        return json.loads((Path(work) / "keys.json").read_text())
