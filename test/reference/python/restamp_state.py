# Restamps a native trainer state (Trainer::save_state's bytes: a LibTorch archive, a zip) with
# another format number, to make the states of an older semihard that tests need:
#
#   restamp_state.py IN OUT FORMAT
#
# The archive's first record (archive/data/0) is the int64 "format" tensor save_state writes
# first; it must hold today's format (2). Every other record is copied unchanged, stored.
import struct
import sys
import zipfile

src, dst, fmt = sys.argv[1], sys.argv[2], int(sys.argv[3])
with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, 'w', zipfile.ZIP_STORED) as zout:
    for info in zin.infolist():
        data = zin.read(info.filename)
        if info.filename.endswith('/data/0'):
            assert data == struct.pack('<q', 2), 'the first record is not the format tensor of format 2'
            data = struct.pack('<q', fmt)
        zout.writestr(info.filename, data)
