package core

// Behavior: LZ4 block compression of small payloads (up to lz4SmallMax bytes),
// producing exactly the bytes github.com/pierrec/lz4/v4's Compressor.CompressBlock
// produces for them (TestLZ4SmallMatchesPierrec, FuzzLZ4Small), at a fraction of
// the cost. pierrec's compressor indexes a 64 Ki-entry hash table (128 KiB) and
// clears an 8 KiB bitmap of it on every call; for a 64-byte context that setup and
// the cache misses it causes cost ~10x the scan itself. Here the table maps the
// same 16-bit hashes to the same last positions, but lives in a small
// open-addressing table whose entries are stamped with the call they belong to,
// so nothing is cleared between calls. The scan, match extension and encoding
// below follow pierrec's lz4block.(*Compressor).CompressBlock (v4.1.x) step by
// step; a destination of CompressBlockBound bytes is assumed (it never runs out).
//
// The scan is derived from github.com/pierrec/lz4/v4, internal/lz4block/block.go:
//
//	Copyright (c) 2015, Pierre Curto
//	All rights reserved.
//
//	Redistribution and use in source and binary forms, with or without
//	modification, are permitted provided that the following conditions are met:
//
//	* Redistributions of source code must retain the above copyright notice, this
//	  list of conditions and the following disclaimer.
//
//	* Redistributions in binary form must reproduce the above copyright notice,
//	  this list of conditions and the following disclaimer in the documentation
//	  and/or other materials provided with the distribution.
//
//	* Neither the name of xxHash nor the names of its
//	  contributors may be used to endorse or promote products derived from
//	  this software without specific prior written permission.
//
//	THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS"
//	AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE
//	IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE ARE
//	DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR CONTRIBUTORS BE LIABLE
//	FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL
//	DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR
//	SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER
//	CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY,
//	OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE
//	OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.

import (
	"encoding/binary"
	"math/bits"
)

const (
	lz4SmallMax   = 1024 // the largest payload compressed here; larger ones go to pierrec
	lz4MinMatch   = 4
	lz4WinSize    = 1 << 16
	lz4HashLog    = 16
	lz4MFLimit    = 10 + lz4MinMatch // the last match cannot start within the last 14 bytes
	lz4SmallSlots = 2 * lz4SmallMax  // at most one entry per position: load ≤ 1/2
)

// lz4Small is the hash table of one goroutine's small compressions.
type lz4Small struct {
	call  uint32 // stamp of the current call; entries of other calls are empty
	slots [lz4SmallSlots]lz4Slot
}

type lz4Slot struct {
	call uint32
	h    uint16 // the 16-bit hash
	pos  uint16
}

func lz4BlockHash(x uint64) uint32 {
	const prime6bytes = 227718039650203
	return uint32(((x << (64 - 48)) * prime6bytes) >> (64 - lz4HashLog))
}

// get is pierrec's Compressor.get for an input shorter than the window: the
// last position stored for h, 0 when none; a position not before si is moved a
// window back (out of reach).
func (t *lz4Small) get(h uint32, si int) int {
	i := 0
	for k := h & (lz4SmallSlots - 1); ; k = (k + 1) & (lz4SmallSlots - 1) {
		s := &t.slots[k]
		if s.call != t.call {
			break
		}
		if uint32(s.h) == h {
			i = int(s.pos)
			break
		}
	}
	if i >= si {
		i -= lz4WinSize
	}
	return i
}

func (t *lz4Small) put(h uint32, si int) {
	for k := h & (lz4SmallSlots - 1); ; k = (k + 1) & (lz4SmallSlots - 1) {
		s := &t.slots[k]
		if s.call != t.call || uint32(s.h) == h {
			*s = lz4Slot{call: t.call, h: uint16(h), pos: uint16(si)}
			return
		}
	}
}

// compress writes the LZ4 block of src (len(src) ≤ lz4SmallMax) to dst, which
// holds at least CompressBlockBound(len(src)) bytes, and returns its length.
func (t *lz4Small) compress(src, dst []byte) int {
	t.call++
	if t.call == 0 { // wrapped: entries stamped long ago could look current
		t.slots = [lz4SmallSlots]lz4Slot{}
		t.call = 1
	}
	const adaptSkipLog = 7
	load64 := func(i int) uint64 { return binary.LittleEndian.Uint64(src[i : i+8]) }
	load32 := func(i int) uint32 { return binary.LittleEndian.Uint32(src[i : i+4]) }
	var si, di, anchor int
	sn := len(src) - lz4MFLimit
	for si < sn {
		match := load64(si)
		h := lz4BlockHash(match)
		h2 := lz4BlockHash(match >> 8)
		ref := t.get(h, si)
		ref2 := t.get(h2, si+1)
		t.put(h, si)
		t.put(h2, si+1)
		offset := si - ref
		if offset <= 0 || offset >= lz4WinSize || uint32(match) != load32(ref) {
			h = lz4BlockHash(match >> 16)
			ref3 := t.get(h, si+2)
			si++
			offset = si - ref2
			if offset <= 0 || offset >= lz4WinSize || uint32(match>>8) != load32(ref2) {
				si++
				offset = si - ref3
				t.put(h, si)
				if offset <= 0 || offset >= lz4WinSize || uint32(match>>16) != load32(ref3) {
					si += 2 + (si-anchor)>>adaptSkipLog
					continue
				}
			}
		}
		lLen := si - anchor
		mLen := 4
		tOff := si - offset - 1
		for lLen > 0 && tOff >= 0 && src[si-1] == src[tOff] {
			si--
			tOff--
			lLen--
			mLen++
		}
		si, mLen = si+mLen, si+lz4MinMatch
		for si+8 <= sn {
			x := load64(si) ^ load64(si-offset)
			if x == 0 {
				si += 8
			} else {
				si += bits.TrailingZeros64(x) >> 3
				break
			}
		}
		mLen = si - mLen
		tok := byte(0xF)
		if mLen < 0xF {
			tok = byte(mLen)
		}
		if lLen < 0xF {
			dst[di] = tok | byte(lLen<<4)
		} else {
			dst[di] = tok | 0xF0
			di++
			l := lLen - 0xF
			for ; l >= 0xFF; l -= 0xFF {
				dst[di] = 0xFF
				di++
			}
			dst[di] = byte(l)
		}
		di++
		copy(dst[di:di+lLen], src[anchor:anchor+lLen])
		di += lLen + 2
		anchor = si
		dst[di-2], dst[di-1] = byte(offset), byte(offset>>8)
		if mLen >= 0xF {
			for mLen -= 0xF; mLen >= 0xFF; mLen -= 0xFF {
				dst[di] = 0xFF
				di++
			}
			dst[di] = byte(mLen)
			di++
		}
		if si >= sn {
			break
		}
		h = lz4BlockHash(load64(si - 2))
		t.put(h, si-2)
	}
	lLen := len(src) - anchor
	if lLen < 0xF {
		dst[di] = byte(lLen << 4)
	} else {
		dst[di] = 0xF0
		di++
		for lLen -= 0xF; lLen >= 0xFF; lLen -= 0xFF {
			dst[di] = 0xFF
			di++
		}
		dst[di] = byte(lLen)
	}
	di++
	di += copy(dst[di:di+len(src)-anchor], src[anchor:])
	return di
}
