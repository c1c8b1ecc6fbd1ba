"""Secret key files: created 0600 and never overwritten, refused when others may read them."""

from __future__ import annotations

import os
import stat

import pytest

from pot.errors import MalformedInputError
from pot.protocol.errors import InsecureKeyFileError, KeyFileError, MalformedKeyFileError
from pot.protocol.keys import (
    SecretKey,
    decode_secret_key_file,
    encode_secret_key_file,
    load_secret_key,
    save_secret_key,
)

SCALAR = 0x263DBD792F5B1BE47ED85F8938C0F29586AF0D3AC7B977F21C278FE1462040E3
CONTENT = b"0x263dbd792f5b1be47ed85f8938c0f29586af0d3ac7b977f21c278fe1462040e3\n"
R_BLS = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001


def mode_of(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def write_file(path, data: bytes, mode: int) -> None:
    path.write_bytes(data)
    os.chmod(path, mode)


def test_file_format_is_hex_and_a_newline():
    assert encode_secret_key_file(SecretKey(SCALAR)) == CONTENT
    assert decode_secret_key_file(CONTENT) == SecretKey(SCALAR)
    assert encode_secret_key_file(SecretKey(1)) == b"0x" + b"0" * 63 + b"1\n"


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o077, 0o277])
def test_saved_file_is_mode_0600_whatever_the_umask(tmp_path, umask):
    path = tmp_path / "trainer.key"
    old = os.umask(umask)
    try:
        save_secret_key(path, SecretKey(SCALAR))
    finally:
        os.umask(old)
    assert mode_of(path) == 0o600
    assert path.read_bytes() == CONTENT
    assert load_secret_key(path) == SecretKey(SCALAR)


def test_existing_file_is_never_overwritten(tmp_path):
    path = tmp_path / "trainer.key"
    path.write_bytes(b"precious")
    with pytest.raises(KeyFileError) as info:
        save_secret_key(path, SecretKey(SCALAR))
    assert str(info.value) == f"refusing to overwrite existing file {path}"
    assert path.read_bytes() == b"precious"


def test_a_symlink_is_not_followed_when_saving(tmp_path):
    target = tmp_path / "elsewhere"
    link = tmp_path / "trainer.key"
    link.symlink_to(target)
    with pytest.raises(KeyFileError):
        save_secret_key(link, SecretKey(SCALAR))
    assert not target.exists()


def test_missing_directory_is_a_key_file_error(tmp_path):
    with pytest.raises(KeyFileError) as info:
        save_secret_key(tmp_path / "no" / "trainer.key", SecretKey(SCALAR))
    assert str(info.value).startswith(f"cannot create key file {tmp_path / 'no' / 'trainer.key'}")


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o620, 0o602, 0o610, 0o601, 0o644, 0o666])
def test_file_accessible_by_group_or_others_is_refused(tmp_path, mode):
    path = tmp_path / "trainer.key"
    write_file(path, CONTENT, mode)
    with pytest.raises(InsecureKeyFileError) as info:
        load_secret_key(path)
    assert str(info.value) == (
        f"key file {path} is accessible by group or others (mode {mode:04o}); run: chmod 600 {path}"
    )
    assert "263dbd" not in str(info.value)


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_owner_only_modes_are_accepted(tmp_path, mode):
    path = tmp_path / "trainer.key"
    write_file(path, CONTENT, mode)
    assert load_secret_key(path) == SecretKey(SCALAR)


def test_missing_file_and_directory_are_refused(tmp_path):
    with pytest.raises(KeyFileError) as info:
        load_secret_key(tmp_path / "absent.key")
    assert str(info.value) == f"no key file at {tmp_path / 'absent.key'}"
    folder = tmp_path / "folder"
    folder.mkdir(mode=0o700)
    with pytest.raises(KeyFileError) as info:
        load_secret_key(folder)
    assert str(info.value) == f"key file {folder} is not a regular file"


@pytest.mark.parametrize(
    "content",
    [
        CONTENT[:-1],  # no newline
        CONTENT + b"\n",  # trailing data
        CONTENT.upper(),
        b"0X" + CONTENT[2:],
        CONTENT[2:] + b"00",  # no prefix, right length
        b" " + CONTENT[:-2] + b"\n",
        CONTENT[:-1] + b"\r",
        b"0x" + b"0" * 64 + b"\n",  # zero is not a secret key
        b"0x" + R_BLS.to_bytes(32, "big").hex().encode() + b"\n",  # r is not below r
        b"0x" + b"f" * 64 + b"\n",
        b"",
        CONTENT * 100,
    ],
)
def test_malformed_contents_are_refused_without_echoing_them(tmp_path, content):
    path = tmp_path / "trainer.key"
    write_file(path, content, 0o600)
    with pytest.raises(MalformedKeyFileError) as info:
        load_secret_key(path)
    assert str(info.value).startswith(f"key file {path}: a secret key file must hold ")
    assert "263dbd" not in str(info.value).lower()
    assert isinstance(info.value, MalformedInputError)
