"""GGUF v3: a writer and a small reader, written from the format description in ggml's docs/gguf.md.

File layout (little-endian):
  header       magic "GGUF", u32 version = 3, u64 tensor_count, u64 metadata_kv_count
  metadata     per key: string key, u32 value type, value   (string = u64 byte length + UTF-8 bytes, no NUL;
               array = u32 element type, u64 element count, elements)
  tensor infos per tensor: string name (< 64 bytes), u32 n_dims, u64 dims[n_dims] (fastest-varying first, i.e. the
               REVERSE of numpy's C-order shape), u32 ggml type, u64 offset (relative to the data section, a multiple
               of the alignment)
  padding      0x00 up to a multiple of general.alignment (32 when the key is absent)
  tensor data  each tensor at its offset, padded to the alignment

Tensor types used here: F32, F16 and Q8_0 (blocks of 32 values: one fp16 scale d = max|x| / 127 followed by 32 int8
q = round(x / d), rounded half away from zero like C's roundf, as ggml's reference quantizer does).
"""
import struct

import numpy as np

MAGIC = b'GGUF'
VERSION = 3
DEFAULT_ALIGNMENT = 32

# metadata value types
UINT8, INT8, UINT16, INT16, UINT32, INT32, FLOAT32, BOOL, STRING, ARRAY, UINT64, INT64, FLOAT64 = range(13)
_SCALAR = {UINT8: '<B', INT8: '<b', UINT16: '<H', INT16: '<h', UINT32: '<I', INT32: '<i', FLOAT32: '<f',
           BOOL: '<?', UINT64: '<Q', INT64: '<q', FLOAT64: '<d'}
_NP = {UINT8: '<u1', INT8: '<i1', UINT16: '<u2', INT16: '<i2', UINT32: '<u4', INT32: '<i4', FLOAT32: '<f4',
       BOOL: '<u1', UINT64: '<u8', INT64: '<i8', FLOAT64: '<f8'}

# ggml tensor types (the subset this module writes and reads)
F32, F16, Q8_0 = 0, 1, 8
TYPE_NAMES = {F32: 'F32', F16: 'F16', Q8_0: 'Q8_0'}
QK8_0 = 32
Q8_0_BLOCK_BYTES = 2 + QK8_0

# general.file_type values
FILE_ALL_F32, FILE_MOSTLY_F16, FILE_MOSTLY_Q8_0 = 0, 1, 7
QUANTIZATION_VERSION = 2

# tokenizer.ggml.token_type values
TOKEN_NORMAL, TOKEN_UNKNOWN, TOKEN_CONTROL, TOKEN_USER_DEFINED, TOKEN_UNUSED, TOKEN_BYTE = 1, 2, 3, 4, 5, 6

MAX_TENSOR_NAME = 63  # ggml's GGML_MAX_NAME is 64 including the terminating NUL


def _align(n, a):
    return n + (a - n % a) % a


def _string(s):
    b = s.encode('utf-8') if isinstance(s, str) else bytes(s)
    return struct.pack('<Q', len(b)) + b


def _round_half_away(x):
    """C roundf() on float32 values (computed in float64, where |x| + 0.5 is exact for these magnitudes)."""
    x = x.astype(np.float64)
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def quantize_q8_0(a):
    """float32 array whose last axis is a multiple of 32 -> uint8 [n_blocks, 34] in ggml's block_q8_0 layout."""
    a = np.ascontiguousarray(a, dtype=np.float32)
    if a.shape[-1] % QK8_0:
        raise ValueError(f'Q8_0 needs rows that are a multiple of {QK8_0} values, got {a.shape[-1]}')
    blocks = a.reshape(-1, QK8_0)
    amax = np.abs(blocks).max(axis=1, keepdims=True)
    d = (amax / np.float32(127)).astype(np.float32)
    with np.errstate(divide='ignore'):
        inv = np.where(d == 0, np.float32(0), np.float32(1) / d).astype(np.float32)
    q = _round_half_away(blocks * inv).astype(np.int8)
    out = np.empty((blocks.shape[0], Q8_0_BLOCK_BYTES), dtype=np.uint8)
    out[:, :2] = d.astype('<f2').view(np.uint8)
    out[:, 2:] = q.view(np.uint8)
    return out


def dequantize_q8_0(raw, shape):
    b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, Q8_0_BLOCK_BYTES)
    d = b[:, :2].copy().view('<f2').astype(np.float32)
    q = b[:, 2:].copy().view(np.int8).astype(np.float32)
    return (q * d).reshape(shape)


def tensor_bytes(a, ttype):
    if ttype == F32:
        return np.ascontiguousarray(a, dtype='<f4').tobytes()
    if ttype == F16:
        return np.ascontiguousarray(a, dtype='<f2').tobytes()
    if ttype == Q8_0:
        return quantize_q8_0(a).tobytes()
    raise ValueError(f'unsupported tensor type {ttype}')


class Writer:
    """Collect metadata and tensors, then write() one file. Keys keep insertion order."""

    def __init__(self, alignment=DEFAULT_ALIGNMENT):
        if alignment % 8:
            raise ValueError('general.alignment must be a multiple of 8')
        self.alignment = alignment
        self.kv = {}
        self.tensors = []
        if alignment != DEFAULT_ALIGNMENT:
            self.add_u32('general.alignment', alignment)

    # ---- metadata
    def add(self, key, vtype, value, elem_type=None):
        if not key.isascii() or not key or len(key) > 65535:
            raise ValueError(f'bad metadata key {key!r}')
        if key in self.kv:
            raise ValueError(f'duplicate metadata key {key}')
        if vtype == ARRAY and elem_type is None:
            raise ValueError('arrays need an element type')
        self.kv[key] = (vtype, value, elem_type)

    def add_u32(self, key, v):
        self.add(key, UINT32, int(v))

    def add_i32(self, key, v):
        self.add(key, INT32, int(v))

    def add_f32(self, key, v):
        self.add(key, FLOAT32, float(v))

    def add_bool(self, key, v):
        self.add(key, BOOL, bool(v))

    def add_string(self, key, v):
        self.add(key, STRING, str(v))

    def add_array(self, key, elem_type, values):
        self.add(key, ARRAY, list(values) if elem_type == STRING else np.asarray(values), elem_type)

    # ---- tensors
    def add_tensor(self, name, array, ttype):
        """array: numpy array in C order (numpy shape [rows, cols] becomes GGUF dims (cols, rows))."""
        if len(name.encode('utf-8')) > MAX_TENSOR_NAME:
            raise ValueError(f'tensor name too long: {name}')
        if any(t[0] == name for t in self.tensors):
            raise ValueError(f'duplicate tensor {name}')
        a = np.asarray(array, dtype=np.float32)
        if a.ndim < 1 or a.ndim > 4:
            raise ValueError(f'{name}: {a.ndim} dimensions')
        self.tensors.append((name, tuple(reversed(a.shape)), ttype, tensor_bytes(a, ttype)))

    # ---- serialisation
    @staticmethod
    def _value(vtype, value, elem_type=None):
        if vtype == STRING:
            return _string(value)
        if vtype == ARRAY:
            head = struct.pack('<IQ', elem_type, len(value))
            if elem_type == STRING:
                return head + b''.join(_string(s) for s in value)
            if elem_type == ARRAY:
                raise ValueError('nested arrays are not written by this module')
            return head + np.asarray(value).astype(_NP[elem_type]).tobytes()
        return struct.pack(_SCALAR[vtype], value)

    def to_bytes(self):
        out = [MAGIC, struct.pack('<IQQ', VERSION, len(self.tensors), len(self.kv))]
        for key, (vtype, value, elem_type) in self.kv.items():
            out += [_string(key), struct.pack('<I', vtype), self._value(vtype, value, elem_type)]
        offset = 0
        offsets = []
        for name, dims, ttype, data in self.tensors:
            offsets.append(offset)
            out += [_string(name), struct.pack('<I', len(dims)), struct.pack(f'<{len(dims)}Q', *dims),
                    struct.pack('<IQ', ttype, offset)]
            offset = _align(offset + len(data), self.alignment)
        head = b''.join(out)
        body = [head, b'\0' * (_align(len(head), self.alignment) - len(head))]
        for (name, dims, ttype, data), off in zip(self.tensors, offsets):
            body.append(data)
            body.append(b'\0' * (_align(len(data), self.alignment) - len(data)))
        return b''.join(body)

    def write(self, path):
        data = self.to_bytes()
        with open(path, 'wb') as f:
            f.write(data)
        return len(data)


# ---------------------------------------------------------------- reader (for checks)

class Reader:
    """Parse a GGUF file: .version, .metadata {key: value}, .types {key: (vtype, elem_type)},
    .tensors {name: (dims fastest-first, ggml type, absolute offset, byte size)}; .array(name) gives float32 data."""

    def __init__(self, path):
        with open(path, 'rb') as f:
            self.buf = f.read()
        self.pos = 0
        if self._take(4) != MAGIC:
            raise ValueError(f'{path}: not a GGUF file')
        self.version, n_tensors, n_kv = struct.unpack('<IQQ', self._take(20))
        self.metadata, self.types = {}, {}
        for _ in range(n_kv):
            key = self._str()
            vtype = self._u32()
            elem = None
            if vtype == ARRAY:
                elem = struct.unpack('<I', self.buf[self.pos:self.pos + 4])[0]
            self.metadata[key] = self._val(vtype)
            self.types[key] = (vtype, elem)
        self.alignment = int(self.metadata.get('general.alignment', DEFAULT_ALIGNMENT))
        infos = []
        for _ in range(n_tensors):
            name = self._str()
            nd = self._u32()
            dims = struct.unpack(f'<{nd}Q', self._take(8 * nd))
            ttype = self._u32()
            off = struct.unpack('<Q', self._take(8))[0]
            infos.append((name, dims, ttype, off))
        self.data_start = _align(self.pos, self.alignment)
        self.tensors = {}
        for name, dims, ttype, off in infos:
            if off % self.alignment:
                raise ValueError(f'{name}: offset {off} not aligned')
            n = int(np.prod(dims))
            size = {F32: 4 * n, F16: 2 * n, Q8_0: n // QK8_0 * Q8_0_BLOCK_BYTES}[ttype]
            self.tensors[name] = (dims, ttype, self.data_start + off, size)

    def _take(self, n):
        b = self.buf[self.pos:self.pos + n]
        if len(b) != n:
            raise ValueError('truncated GGUF file')
        self.pos += n
        return b

    def _u32(self):
        return struct.unpack('<I', self._take(4))[0]

    def _str(self):
        n = struct.unpack('<Q', self._take(8))[0]
        return self._take(n).decode('utf-8')

    def _val(self, vtype):
        if vtype == STRING:
            return self._str()
        if vtype == ARRAY:
            elem = self._u32()
            n = struct.unpack('<Q', self._take(8))[0]
            if elem == STRING:
                return [self._str() for _ in range(n)]
            if elem == ARRAY:
                return [self._val(ARRAY) for _ in range(n)]
            dt = np.dtype(_NP[elem])
            return np.frombuffer(self._take(n * dt.itemsize), dtype=dt).copy()
        fmt = _SCALAR[vtype]
        return struct.unpack(fmt, self._take(struct.calcsize(fmt)))[0]

    def array(self, name):
        dims, ttype, off, size = self.tensors[name]
        shape = tuple(reversed(dims))
        raw = self.buf[off:off + size]
        if ttype == F32:
            return np.frombuffer(raw, dtype='<f4').reshape(shape).copy()
        if ttype == F16:
            return np.frombuffer(raw, dtype='<f2').astype(np.float32).reshape(shape)
        if ttype == Q8_0:
            return dequantize_q8_0(raw, shape)
        raise ValueError(f'{name}: type {ttype} not readable here')
