"""Downloads (resume, verification) and safe extraction, against a local HTTP server."""
import dataclasses
import hashlib
import http.server
import io
import stat
import tarfile
import threading
import zipfile

import pytest

from starganlib.data import download as dl

PAYLOAD = bytes(range(256)) * 40  # 10 KiB


class ArchiveHandler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.files``; honours ``Range`` unless ``server.honour_range`` is False."""

    def do_GET(self):
        server = self.server
        body = server.files.get(self.path.lstrip("/"))
        if body is None:
            self.send_error(404)
            return
        requested = self.headers.get("Range")
        server.ranges.append(requested)
        start = 0
        if requested and server.honour_range:
            start = int(requested.removeprefix("bytes=").removesuffix("-"))
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Type", server.content_type)
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        sent = body[start:] if server.cut_after is None else body[start:start + server.cut_after]
        self.wfile.write(sent)
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ArchiveHandler)
    httpd.files, httpd.ranges = {}, []
    httpd.honour_range, httpd.content_type, httpd.cut_after = True, "application/zip", None
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}/"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ----------------------------------------------------------------------------------- download

def test_download_verifies_and_renames(server, tmp_path):
    server.files["data.bin"] = PAYLOAD
    dest = tmp_path / "dl" / "data.bin"
    assert dl.download(server.url + "data.bin", dest, sha256_of(PAYLOAD), progress=False) == dest
    assert dest.read_bytes() == PAYLOAD
    assert sorted(p.name for p in dest.parent.iterdir()) == ["data.bin"]
    assert server.ranges == [None]


def test_sha_mismatch_raises_and_keeps_no_dest(server, tmp_path):
    server.files["data.bin"] = PAYLOAD
    dest = tmp_path / "data.bin"
    wrong = "0" * 64
    with pytest.raises(ValueError) as info:
        dl.download(server.url + "data.bin", dest, wrong, progress=False)
    message = str(info.value)
    assert "data.bin" in message and wrong in message and sha256_of(PAYLOAD) in message
    assert not dest.exists()
    assert not (tmp_path / "data.bin.part").exists()
    assert (tmp_path / "data.bin.sha256-mismatch").read_bytes() == PAYLOAD


def test_without_sha_the_digest_is_printed(server, tmp_path, capsys):
    server.files["data.bin"] = PAYLOAD
    dl.download(server.url + "data.bin", tmp_path / "data.bin", progress=False)
    out = capsys.readouterr().out
    assert f"--sha256 {sha256_of(PAYLOAD)}" in out


def test_existing_dest_is_verified_not_downloaded(server, tmp_path):
    dest = tmp_path / "data.bin"
    dest.write_bytes(PAYLOAD)
    dl.download(server.url + "data.bin", dest, sha256_of(PAYLOAD), progress=False)
    assert server.ranges == []
    with pytest.raises(ValueError, match="mismatch"):
        dl.download(server.url + "data.bin", dest, "1" * 64, progress=False)
    assert not dest.exists()


def test_resume_sends_range_and_completes(server, tmp_path):
    server.files["data.bin"] = PAYLOAD
    dest = tmp_path / "data.bin"
    (tmp_path / "data.bin.part").write_bytes(PAYLOAD[:3000])
    dl.download(server.url + "data.bin", dest, sha256_of(PAYLOAD), progress=False, chunk_size=512)
    assert server.ranges == ["bytes=3000-"]
    assert dest.read_bytes() == PAYLOAD


def test_server_ignoring_range_restarts_cleanly(server, tmp_path):
    server.files["data.bin"] = PAYLOAD
    server.honour_range = False
    dest = tmp_path / "data.bin"
    (tmp_path / "data.bin.part").write_bytes(b"x" * 3000)  # wrong bytes: must not be kept
    dl.download(server.url + "data.bin", dest, sha256_of(PAYLOAD), progress=False)
    assert server.ranges == ["bytes=3000-"]
    assert dest.read_bytes() == PAYLOAD


def test_complete_part_answered_416_is_not_downloaded_again(server, tmp_path):
    server.files["data.bin"] = PAYLOAD
    dest = tmp_path / "data.bin"
    (tmp_path / "data.bin.part").write_bytes(PAYLOAD)
    dl.download(server.url + "data.bin", dest, sha256_of(PAYLOAD), progress=False)
    assert server.ranges == [f"bytes={len(PAYLOAD)}-"]
    assert dest.read_bytes() == PAYLOAD


def test_too_long_part_answered_416_restarts(server, tmp_path):
    server.files["data.bin"] = PAYLOAD
    dest = tmp_path / "data.bin"
    (tmp_path / "data.bin.part").write_bytes(PAYLOAD + b"junk")
    dl.download(server.url + "data.bin", dest, sha256_of(PAYLOAD), progress=False)
    assert server.ranges == [f"bytes={len(PAYLOAD) + 4}-", None]
    assert dest.read_bytes() == PAYLOAD


def test_interrupted_download_keeps_part_and_resumes(server, tmp_path):
    server.files["data.bin"] = PAYLOAD
    server.cut_after = 4000
    dest = tmp_path / "data.bin"
    with pytest.raises(ConnectionError, match="4000 of 10240 bytes"):
        dl.download(server.url + "data.bin", dest, sha256_of(PAYLOAD), progress=False)
    assert (tmp_path / "data.bin.part").read_bytes() == PAYLOAD[:4000] and not dest.exists()
    server.cut_after = None
    dl.download(server.url + "data.bin", dest, sha256_of(PAYLOAD), progress=False)
    assert server.ranges == [None, "bytes=4000-"]
    assert dest.read_bytes() == PAYLOAD


def test_web_page_instead_of_file_is_refused(server, tmp_path):
    server.files["data.bin"] = b"<html>moved</html>"
    server.content_type = "text/html; charset=utf-8"
    with pytest.raises(ValueError, match="web page"):
        dl.download(server.url + "data.bin", tmp_path / "data.bin", progress=False)
    assert list(tmp_path.iterdir()) == []


def test_missing_file_names_the_url(server, tmp_path):
    with pytest.raises(ConnectionError, match="nothing.zip: HTTP 404"):
        dl.download(server.url + "nothing.zip", tmp_path / "nothing.zip", progress=False)


# ------------------------------------------------------------------------------------ extract

def zip_bytes(entries: list[tuple[zipfile.ZipInfo | str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zip_file:
        for info, data in entries:
            zip_file.writestr(info, data)
    return buffer.getvalue()


def tar_bytes(entries: list[tarfile.TarInfo], mode: str = "w:gz") -> bytes:
    """A tar; regular members get the content ``b"evil"`` or ``b"good"`` from their name."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as tar_file:
        for member in entries:
            data = b"evil" if "evil" in member.name else b"good"
            if member.isfile():
                member.size = len(data)
                tar_file.addfile(member, io.BytesIO(data))
            else:
                tar_file.addfile(member)
    return buffer.getvalue()


def tar_member(name: str, kind=tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
    member = tarfile.TarInfo(name)
    member.type, member.linkname = kind, linkname
    return member


def zip_symlink(name: str, target: str) -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info, target.encode()


def write_archive(tmp_path, name: str, data: bytes):
    folder = tmp_path / "archives"
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(data)
    return folder / name


@pytest.mark.parametrize("suffix, mode", [("zip", None), ("tar", "w"), ("tar.gz", "w:gz"),
                                          ("tar.bz2", "w:bz2"), ("tar.xz", "w:xz")])
def test_valid_archive_extracts(tmp_path, suffix, mode):
    if mode is None:
        data = zip_bytes([("top/", b""), ("top/a.txt", b"good"), ("top/sub/b.txt", b"good")])
    else:
        data = tar_bytes([tar_member("top", tarfile.DIRTYPE), tar_member("top/a.txt"),
                          tar_member("top/sub/b.txt")], mode)
    archive = write_archive(tmp_path, f"ok.{suffix}", data)
    target = tmp_path / "out" / "target"
    assert dl.safe_extract(archive, target, progress=False) == target
    assert (target / "top" / "a.txt").read_bytes() == b"good"
    assert (target / "top" / "sub" / "b.txt").read_bytes() == b"good"
    assert sorted(p.name for p in target.parent.iterdir()) == ["target"]


def _absolute(tmp_path) -> str:
    return str(tmp_path / "evil_absolute.txt")


MALICIOUS = {  # case: (archive builder, the reason it must be refused)
    "zip-slip": (lambda tmp: zip_bytes([("good.txt", b"good"), ("../evil.txt", b"evil")]),
                 "'..' component"),
    "zip-absolute": (lambda tmp: zip_bytes([("good.txt", b"good"), (_absolute(tmp), b"evil")]),
                     "absolute path"),
    "zip-drive-letter": (lambda tmp: zip_bytes([("good.txt", b"good"), ("C:/evil.txt", b"evil")]),
                         "absolute path"),
    "zip-backslash-slip": (
        lambda tmp: zip_bytes([("good.txt", b"good"), ("..\\evil.txt", b"evil")]),
        "'..' component"),
    "zip-symlink": (lambda tmp: zip_bytes([("good.txt", b"good"), zip_symlink("link", "..")]),
                    "is a symlink"),
    "tar-slip": (lambda tmp: tar_bytes([tar_member("good.txt"), tar_member("a/../../evil.txt")]),
                 "'..' component"),
    "tar-absolute": (lambda tmp: tar_bytes([tar_member("good.txt"), tar_member(_absolute(tmp))]),
                     "absolute path"),
    "tar-symlink-outside": (lambda tmp: tar_bytes([
        tar_member("good.txt"), tar_member("link", tarfile.SYMTYPE, str(tmp)),
        tar_member("link/evil.txt")]), "is a symlink"),
    "tar-hardlink": (lambda tmp: tar_bytes([
        tar_member("good.txt"), tar_member("hard", tarfile.LNKTYPE, _absolute(tmp))]),
        "is a hard link"),
    "tar-fifo": (lambda tmp: tar_bytes([
        tar_member("good.txt"), tar_member("pipe", tarfile.FIFOTYPE)]), "is a device file or fifo"),
    "tar-device": (lambda tmp: tar_bytes([
        tar_member("good.txt"), tar_member("dev", tarfile.CHRTYPE)]), "is a device file or fifo"),
}


@pytest.mark.parametrize("case", sorted(MALICIOUS))
def test_malicious_archive_is_refused_and_nothing_is_written(tmp_path, case):
    suffix = "zip" if case.startswith("zip") else "tar.gz"
    build, reason = MALICIOUS[case]
    archive = write_archive(tmp_path, f"{case}.{suffix}", build(tmp_path))
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ValueError) as info:
        dl.safe_extract(archive, out / "parent" / "target", progress=False)
    assert archive.name in str(info.value) and reason in str(info.value)
    # refused before writing anything: not even the target's parent folder was created
    assert list(out.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["archives", "out"]


def test_failed_extraction_leaves_no_half_target(tmp_path):
    data = zip_bytes([("first.txt", b"A" * 100), ("second.txt", b"B" * 100)])
    corrupt = data.replace(b"B" * 100, b"C" * 100)  # stored data no longer matches its CRC
    archive = write_archive(tmp_path, "corrupt.zip", corrupt)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(zipfile.BadZipFile):
        dl.safe_extract(archive, out / "target", progress=False)
    assert list(out.iterdir()) == []


def test_extract_refuses_existing_target_and_non_archives(tmp_path):
    archive = write_archive(tmp_path, "ok.zip", zip_bytes([("a.txt", b"good")]))
    (tmp_path / "taken").mkdir()
    with pytest.raises(FileExistsError, match="taken"):
        dl.safe_extract(archive, tmp_path / "taken", progress=False)
    text = write_archive(tmp_path, "notes.zip", b"just some text")
    with pytest.raises(ValueError, match="notes.zip is neither a zip nor a tar"):
        dl.safe_extract(text, tmp_path / "new", progress=False)
    assert not (tmp_path / "new").exists()


# -------------------------------------------------------------------------------------- fetch

def afhq_zip(domains=("cat", "dog", "wild")) -> bytes:
    return zip_bytes([(f"afhq/{split}/{domain}/0.jpg", b"jpeg")
                      for split in ("train", "val") for domain in domains])


@pytest.fixture
def local_afhq(server, monkeypatch):
    """Point SOURCES["afhq"] at ``afhq.zip`` of the local server."""
    source = dataclasses.replace(dl.SOURCES["afhq"], url=server.url + "afhq.zip")
    monkeypatch.setitem(dl.SOURCES, "afhq", source)
    return server


def test_fetch_dataset_extracts_and_checks_layout(local_afhq, tmp_path):
    data = afhq_zip()
    local_afhq.files["afhq.zip"] = data
    root = tmp_path / "data"
    folder = dl.fetch_dataset("afhq", root, sha256=sha256_of(data), progress=False)
    assert folder == root / "afhq"
    for split in ("train", "val"):
        assert sorted(p.name for p in (folder / split).iterdir()) == ["cat", "dog", "wild"]
    assert (folder / "val" / "wild" / "0.jpg").read_bytes() == b"jpeg"
    assert list((root / "downloads").iterdir()) == []  # archive and scratch folders removed
    assert dl.fetch_dataset("afhq", root, progress=False) == folder
    assert local_afhq.ranges == [None]  # the second call did not download


def test_fetch_dataset_wrong_layout_is_a_clear_error(local_afhq, tmp_path):
    local_afhq.files["afhq.zip"] = afhq_zip(domains=("cat", "dog"))
    root = tmp_path / "data"
    with pytest.raises(ValueError, match="lacks train/wild, val/wild"):
        dl.fetch_dataset("afhq", root, progress=False)
    assert not (root / "afhq").exists()
    assert sorted(p.name for p in (root / "downloads").iterdir()) == ["afhq.zip"]


def test_fetch_dataset_unknown_name_lists_known_ones(tmp_path):
    with pytest.raises(ValueError, match="afhq, celeba, celeba-hq"):
        dl.fetch_dataset("imagenet", tmp_path)


def test_sources_describe_the_official_archives():
    assert set(dl.SOURCES) == {"afhq", "celeba-hq", "celeba"}
    for name, source in dl.SOURCES.items():
        assert source.name == name and source.archive == "zip" and source.sha256 is None
        assert source.url.startswith("https://www.dropbox.com/s/")
        assert "non-commercial" in source.licence
    assert "train/wild" in dl.SOURCES["afhq"].layout
    assert "val/male" in dl.SOURCES["celeba-hq"].layout
    assert dl.SOURCES["celeba"].layout == ("images", "list_attr_celeba.txt")
