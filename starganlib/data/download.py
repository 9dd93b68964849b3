"""Safe, verified, resumable downloads of the real datasets (AFHQ, CelebA-HQ, CelebA).

The archive URLs are those of the official download scripts: clovaai/stargan-v2 ``download.sh``
(``afhq-dataset``, ``celeba-hq-dataset``) and yunjey/stargan ``download.sh`` (``celeba``). They are
Dropbox links; the scripts end them with ``?dl=0`` for wget, here ``?dl=1`` asks Dropbox for the
file itself rather than its preview page. No SHA-256 is published for any of them, so
``sha256`` is None and every download prints the digest it computed, ready to be pinned.

Three steps, each safe on its own:

1. ``download``: bytes go to ``<file>.part`` (resumed with an HTTP Range request after an
   interruption), are hashed, and only then renamed to ``<file>``.
2. ``safe_extract``: every member is checked before anything is written; only regular files
   and folders are created, in a temporary folder renamed into place when complete.
3. ``fetch_dataset``: both of the above, then a check of the expected folder layout.
"""
import hashlib
import os
import re
import shutil
import stat
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm


@dataclass(frozen=True)
class DatasetSource:
    """Where a dataset comes from and what its archive must contain.

    The archive extracts to the folder ``folder``, which must then hold every path of
    ``layout`` (relative to ``folder``), e.g. ``train/cat`` for AFHQ.
    """
    name: str
    url: str
    archive: str  # "zip", "tar", "tar.gz", ...: the extension of the downloaded file
    sha256: str | None
    licence: str
    folder: str
    layout: tuple[str, ...]


def _domain_layout(domains: tuple[str, ...]) -> tuple[str, ...]:
    """``train/<domain>`` and ``val/<domain>`` for every domain (the StarGAN v2 layout)."""
    return tuple(f"{split}/{domain}" for split in ("train", "val") for domain in domains)


SOURCES: dict[str, DatasetSource] = {
    "afhq": DatasetSource(
        name="afhq",
        url="https://www.dropbox.com/s/t9l9o3vsx2jai3z/afhq.zip?dl=1",
        archive="zip",
        sha256=None,
        licence="AFHQ (Choi et al., StarGAN v2, NAVER Corp.) is licensed CC BY-NC 4.0: "
                "non-commercial use only, with attribution.",
        folder="afhq",
        layout=_domain_layout(("cat", "dog", "wild"))),
    "celeba-hq": DatasetSource(
        name="celeba-hq",
        url="https://www.dropbox.com/s/f7pvjij2xlpff59/celeba_hq.zip?dl=1",
        archive="zip",
        sha256=None,
        licence="The CelebA-HQ split of StarGAN v2 (NAVER Corp.) is licensed CC BY-NC 4.0, and its "
                "images come from CelebA: non-commercial research use only.",
        folder="celeba_hq",
        layout=_domain_layout(("female", "male"))),
    "celeba": DatasetSource(
        name="celeba",
        url="https://www.dropbox.com/s/d1kjpkqklf0uw77/celeba.zip?dl=1",
        archive="zip",
        sha256=None,
        licence="CelebA (Liu et al., CUHK), as packaged for StarGAN v1: non-commercial research "
                "use only.",
        folder="celeba",
        layout=("images", "list_attr_celeba.txt")),
}


# ----------------------------------------------------------------------------------- download

def download(url: str, dest: Path, sha256: str | None = None, progress: bool = True,
             chunk_size: int = 1 << 20, timeout: float = 60) -> Path:
    """Download ``url`` to the file ``dest``, verify it and return ``dest``.

    The bytes are streamed to ``dest`` + ``.part``. If that file exists (an interrupted call),
    the download resumes after its bytes with a ``Range`` request; a server that ignores the
    range (answers 200) or rejects it (416) makes it restart from byte 0. The complete file is
    checked against ``sha256``: a mismatch raises ValueError and the file is renamed to
    ``dest`` + ``.sha256-mismatch`` so it is never used. Without ``sha256`` the digest is
    printed so it can be pinned. Only a complete, verified file is renamed to ``dest``. An
    existing ``dest`` is not downloaded again, only verified.
    """
    dest = Path(dest)
    if dest.exists():
        _verify(dest, dest, sha256, progress)
        return dest
    part = dest.with_name(dest.name + ".part")
    dest.parent.mkdir(parents=True, exist_ok=True)
    _fetch(url, part, progress, chunk_size, timeout)
    _verify(part, dest, sha256, progress)
    os.replace(part, dest)
    return dest


def _fetch(url: str, part: Path, progress: bool, chunk_size: int, timeout: float) -> None:
    """Append the missing bytes of ``url`` to ``part`` (rewriting it if the server restarts)."""
    response, offset = _open(url, part.stat().st_size if part.exists() else 0, timeout)
    if response is None:
        return
    with response:
        if response.headers.get_content_type() == "text/html":
            raise ValueError(f"{url} answered with a web page, not the file: the link may have "
                             f"moved (see the official download script)")
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length is not None else None
        with open(part, "ab" if offset else "wb") as file, \
                tqdm(total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024,
                     desc=part.name, disable=not progress) as bar:
            while chunk := response.read(chunk_size):
                file.write(chunk)
                bar.update(len(chunk))
    size = part.stat().st_size
    if total is not None and size != total:
        raise ConnectionError(f"the download of {url} stopped at {size} of {total} bytes; "
                              f"call again to resume it from {part}")


def _open(url: str, offset: int, timeout: float):
    """The server's answer for ``url`` from byte ``offset``, as ``(response, offset)``.

    The returned offset is 0 when the server sends the whole file instead of the range. The
    response is None when ``offset`` already is the full size (the server answers 416 with
    ``Content-Range: bytes */<offset>``).
    """
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                          timeout=timeout)
    except urllib.error.HTTPError as error:
        error.close()
        if error.code != 416 or not offset:
            raise ConnectionError(f"cannot download {url}: HTTP {error.code} {error.reason}") \
                from error
        if error.headers.get("Content-Range") == f"bytes */{offset}":
            return None, offset
        return _open(url, 0, timeout)
    except urllib.error.URLError as error:
        raise ConnectionError(f"cannot download {url}: {error.reason}") from error
    if response.status != 206:
        return response, 0
    if response.headers.get("Content-Range", "").startswith(f"bytes {offset}-"):
        return response, offset
    response.close()  # a range other than the one asked for
    return _open(url, 0, timeout)


def _verify(path: Path, dest: Path, sha256: str | None, progress: bool) -> None:
    """Check the SHA-256 of ``path`` (to become ``dest``), or print it when none is expected."""
    actual = _sha256(path, progress)
    if sha256 is None:
        print(f"SHA-256 of {dest.name}: {actual}\n"
              f"No checksum was given, so this file is unverified. Pin it to detect corrupt or "
              f"changed downloads: pass --sha256 {actual} on the command line, or "
              f"sha256=\"{actual}\" in Python.")
        return
    if actual != sha256.strip().lower():
        rejected = dest.with_name(dest.name + ".sha256-mismatch")
        os.replace(path, rejected)
        raise ValueError(f"SHA-256 mismatch for {dest}: expected {sha256}, got {actual}. The file "
                         f"was renamed to {rejected} and is not used; delete it to download again.")


def _sha256(path: Path, progress: bool) -> str:
    """Hex SHA-256 digest of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as file, \
            tqdm(total=path.stat().st_size, unit="B", unit_scale=True, unit_divisor=1024,
                 desc=f"SHA-256 {path.name}", disable=not progress, leave=False) as bar:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
            bar.update(len(chunk))
    return digest.hexdigest()


# ------------------------------------------------------------------------------------ extract

_DRIVE_LETTER = re.compile(r"^[A-Za-z]:")


def safe_extract(archive: Path, target: Path, progress: bool = True) -> Path:
    """Extract a zip or tar (also .tar.gz, .tar.bz2, .tar.xz) into the new folder ``target``.

    Every member is checked before anything is written. Absolute paths, drive letters, ``..``
    components, links (symbolic or hard) and device files or fifos raise ValueError naming the
    archive and the member: only regular files and folders are ever created. They are written
    into a temporary folder beside ``target``, renamed to ``target`` when complete; on any
    error that folder is removed and ``target`` is not created. Returns ``target``.
    """
    archive, target = Path(archive), Path(target)
    if not archive.is_file():
        raise FileNotFoundError(f"archive {archive} does not exist")
    if target.exists():
        raise FileExistsError(f"{target} already exists: safe_extract only creates a new folder")
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zip_file:
            members = [(info.filename, _zip_kind(info), info) for info in zip_file.infolist()]
            _extract_members(archive, members, zip_file.open, target, progress)
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tar_file:
            members = [(m.name, _tar_kind(m), m) for m in tar_file.getmembers()]
            _extract_members(archive, members, tar_file.extractfile, target, progress)
    else:
        raise ValueError(f"{archive} is neither a zip nor a tar archive")
    return target


def _zip_kind(info: zipfile.ZipInfo) -> str:
    """"file", "folder", "symlink" or "device file or fifo" (Unix mode bits of the entry)."""
    mode = info.external_attr >> 16 if info.create_system == 3 else 0  # 3: made on Unix
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
        return "device file or fifo"
    return "folder" if info.is_dir() else "file"


def _tar_kind(member: tarfile.TarInfo) -> str:
    """"file", "folder", "symlink", "hard link" or "device file or fifo"."""
    if member.isfile():
        return "file"
    if member.isdir():
        return "folder"
    if member.issym():
        return "symlink"
    if member.islnk():
        return "hard link"
    return "device file or fifo"


def _check_member(archive: Path, name: str, kind: str) -> None:
    """ValueError naming the archive and member unless it is a file or folder inside the target."""
    path = name.replace("\\", "/")
    if path.startswith("/") or _DRIVE_LETTER.match(path):
        problem = "has an absolute path"
    elif ".." in path.split("/"):
        problem = "has a '..' component"
    elif kind not in ("file", "folder"):
        problem = f"is a {kind}"
    else:
        return
    raise ValueError(f"refusing to extract {archive}: member {name!r} {problem}; only regular "
                     f"files and folders inside the target folder are allowed")


def _extract_members(archive: Path, members: list, open_member, target: Path,
                     progress: bool) -> None:
    """Check all ``(name, kind, member)``, then write them to a temporary folder -> ``target``."""
    for name, kind, _ in members:
        _check_member(archive, name, kind)
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial",
                                    dir=target.parent))
    try:
        for name, kind, member in tqdm(members, desc=f"extracting {archive.name}", unit="file",
                                       disable=not progress):
            path = scratch.joinpath(*[p for p in name.replace("\\", "/").split("/")
                                      if p not in ("", ".")])
            if kind == "folder":
                path.mkdir(parents=True, exist_ok=True)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            with open_member(member) as source, open(path, "wb") as file:
                shutil.copyfileobj(source, file, 1 << 20)
        os.replace(scratch, target)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise


# -------------------------------------------------------------------------------------- fetch

def fetch_dataset(name: str, root: Path, sha256: str | None = None, progress: bool = True) -> Path:
    """Download, verify and extract the dataset ``name`` into ``root/<folder>``; returns it.

    ``name`` is a key of ``SOURCES`` (afhq, celeba-hq, celeba). The archive is downloaded to
    ``root/downloads/`` (resumable), checked against ``sha256`` (or the digest is printed),
    safely extracted and checked for the expected layout, e.g. ``afhq/train/cat``. The
    archive is deleted once the dataset is in place; a second call returns at once.
    """
    if name not in SOURCES:
        raise ValueError(f"unknown dataset {name!r}; known datasets: {', '.join(sorted(SOURCES))}")
    source = SOURCES[name]
    root = Path(root)
    dataset_dir = root / source.folder
    if dataset_dir.exists():
        missing = _missing(dataset_dir, source.layout)
        if missing:
            raise ValueError(f"{dataset_dir} exists but lacks {', '.join(missing)}; "
                             f"delete it to download {name} again")
        return dataset_dir
    print(f"{name}: {source.licence}")
    downloads = root / "downloads"
    archive = download(source.url, downloads / f"{source.folder}.{source.archive}",
                       sha256 or source.sha256, progress)
    with tempfile.TemporaryDirectory(prefix=f".{source.folder}.", dir=downloads) as scratch:
        unpacked = safe_extract(archive, Path(scratch) / "unpacked", progress)
        missing = _missing(unpacked / source.folder, source.layout)
        if missing:
            found = sorted(p.name for p in unpacked.iterdir())
            raise ValueError(
                f"{archive} does not have the {name} layout: expected {source.folder}/ with "
                f"{', '.join(source.layout)}, but it lacks {', '.join(missing)} (the archive's "
                f"top level holds {found}). The archive is kept; delete it to download again.")
        os.replace(unpacked / source.folder, dataset_dir)
    archive.unlink()
    return dataset_dir


def _missing(folder: Path, layout: tuple[str, ...]) -> list[str]:
    """The paths of ``layout`` that do not exist under ``folder``."""
    return [path for path in layout if not (folder / path).exists()]
