package scenarios

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    time.Duration
		wantErr string
	}{
		{name: "seconds", in: "90s", want: 90 * time.Second},
		{name: "minutes", in: "15m", want: 15 * time.Minute},
		{name: "compound", in: "1h30m", want: 90 * time.Minute},
		{name: "micro ascii", in: "200us", want: 200 * time.Microsecond},
		{name: "bare zero", in: "0", want: 0},
		{name: "negative parses, Validate refuses", in: "-5s", want: -5 * time.Second},
		{name: "days", in: "2d", wantErr: `"2d" is not a duration (write e.g. 48h)`},
		{name: "words", in: "5 minutes", wantErr: `"5 minutes" is not a duration (write e.g. 5m)`},
		{name: "bare number text", in: "30", wantErr: `"30" is not a duration (write e.g. 30s)`},
		{name: "nonsense", in: "soon", wantErr: `"soon" is not a duration (write e.g. 30s, 15m or 1h30m)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDuration(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseDuration(%q) error = %v, want %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil || got.Std() != tt.want {
				t.Fatalf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestDurationYAMLNumberIsRefused(t *testing.T) {
	var d Duration
	err := yaml.Unmarshal([]byte("30"), &d)
	if err == nil || !strings.Contains(err.Error(), `"30" is not a duration (write e.g. 30s)`) {
		t.Fatalf("error = %v", err)
	}
	if err := yaml.Unmarshal([]byte("0"), &d); err != nil || d != 0 {
		t.Fatalf("bare 0: %v, %v", d, err)
	}
}

func TestDurationString(t *testing.T) {
	tests := []struct {
		name string
		in   time.Duration
		want string
	}{
		{name: "zero", in: 0, want: "0s"},
		{name: "hour", in: time.Hour, want: "1h"},
		{name: "minute", in: time.Minute, want: "1m"},
		{name: "hour and minutes", in: 90 * time.Minute, want: "1h30m"},
		{name: "hour and seconds", in: time.Hour + time.Second, want: "1h0m1s"},
		{name: "micro", in: 200 * time.Microsecond, want: "200us"},
		{name: "nanos", in: 1500 * time.Nanosecond, want: "1.5us"},
		{name: "negative", in: -time.Minute, want: "-1m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Duration(tt.in).String(); got != tt.want {
				t.Fatalf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDurationStringRoundTrips(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 2000; i++ {
		d := Duration(rng.Int64N(int64(1000 * time.Hour)))
		if i%3 == 0 {
			d = Duration(rng.Int64N(3600)) * Duration(time.Second)
		}
		got, err := ParseDuration(d.String())
		if err != nil || got != d {
			t.Fatalf("ParseDuration(%q) = %d, %v; want %d", d.String(), got, err, d)
		}
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    int64
		wantErr string
	}{
		{name: "MiB", in: "64MiB", want: 64 << 20},
		{name: "GiB", in: "8GiB", want: 8 << 30},
		{name: "KiB", in: "4KiB", want: 4096},
		{name: "TiB", in: "1TiB", want: 1 << 40},
		{name: "space", in: "100 MiB", want: 100 << 20},
		{name: "fraction", in: "1.5GiB", want: 3 << 29},
		{name: "plain", in: "1048576", want: 1 << 20},
		{name: "bytes suffix", in: "512B", want: 512},
		{name: "SI MB", in: "100MB", want: 100_000_000},
		{name: "SI KB", in: "4KB", want: 4000},
		{name: "SI GB", in: "2GB", want: 2_000_000_000},
		{name: "lower gb", in: "4gb", wantErr: `"4gb" is ambiguous: redis.conf reads gb as a power of 1024 (write 4GiB for 1024-based or 4GB for 1000-based)`},
		{name: "lower mib", in: "4mib", wantErr: `write the unit as 4MiB`},
		{name: "fraction of a byte", in: "1.5B", wantErr: `"1.5B" is not a whole number of bytes`},
		{name: "negative", in: "-1GiB", wantErr: `sizes cannot be negative`},
		{name: "unknown unit", in: "3PiB", wantErr: `unknown unit "PiB"`},
		{name: "words", in: "lots", wantErr: `"lots" is not a size (write e.g. 64MiB, 8GiB or 1048576)`},
		{name: "too large", in: "100000000TiB", wantErr: `is too large`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSize(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseSize(%q) error = %v, want %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil || got.Bytes() != tt.want {
				t.Fatalf("ParseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestSizeString(t *testing.T) {
	tests := []struct {
		name string
		in   Size
		want string
	}{
		{name: "zero", in: 0, want: "0"},
		{name: "binary", in: 64 * MiB, want: "64MiB"},
		{name: "largest binary unit", in: 2048 * MiB, want: "2GiB"},
		{name: "decimal", in: 1000, want: "1KB"},
		{name: "decimal MB", in: 100_000_000, want: "100MB"},
		{name: "binary preferred", in: 1024 * 1000, want: "1000KiB"},
		{name: "plain", in: 1001, want: "1001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.String(); got != tt.want {
				t.Fatalf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSizeYAMLRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 2000; i++ {
		s := Size(rng.Int64N(1 << 50))
		if i%2 == 0 {
			s = Size(rng.Int64N(1<<20)) * KiB
		}
		out, err := yaml.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var back Size
		if err := yaml.Unmarshal(out, &back); err != nil || back != s {
			t.Fatalf("%d marshals to %q, reads back %d, %v", s, out, back, err)
		}
	}
}

func TestParseBound(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		want     float64
		wantText string
		wantUnit Unit
		wantErr  string
	}{
		{name: "ratio", in: "0.001", want: 0.001, wantUnit: UnitCount},
		{name: "size", in: "7GiB", want: 7 << 30, wantText: "7GiB", wantUnit: UnitBytes},
		{name: "duration", in: "50ms", want: 0.05, wantText: "50ms", wantUnit: UnitSeconds},
		{name: "minutes are a duration", in: "5m", want: 300, wantText: "5m", wantUnit: UnitSeconds},
		{name: "inf", in: "inf", wantErr: "is not a finite number"},
		{name: "words", in: "7 gigs", wantErr: `"7 gigs" is not a number, a size (e.g. 7GiB) or a duration (e.g. 50ms)`},
		{name: "negative duration", in: "-5s", wantErr: "cannot be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseBound(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseBound(%q) error = %v, want %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil || got.Value != tt.want || got.Text != tt.wantText || got.unit() != tt.wantUnit {
				t.Fatalf("ParseBound(%q) = %+v (unit %v), %v", tt.in, got, got.unit(), err)
			}
		})
	}
}

func TestBoundYAML(t *testing.T) {
	var e struct {
		Max Bound `yaml:"max"`
	}
	if err := yaml.Unmarshal([]byte("max: 7GiB"), &e); err != nil || e.Max.Value != 7<<30 {
		t.Fatalf("got %+v, %v", e.Max, err)
	}
	out, _ := yaml.Marshal(e)
	if string(out) != "max: 7GiB\n" {
		t.Fatalf("marshal = %q", out)
	}
	e.Max = Bound{Value: 0.25}
	out, _ = yaml.Marshal(e)
	if string(out) != "max: 0.25\n" {
		t.Fatalf("marshal = %q", out)
	}
	if err := yaml.Unmarshal([]byte("max: .nan"), &e); err == nil {
		t.Fatal("NaN bound accepted")
	}
}
