package bench

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/spillway-sim/spillway/sim/engine"
)

// mm1Unit is the M/M/1 model's unit of time: rates are per mm1Unit.
const mm1Unit = time.Second

// mm1 is an M/M/1 queue on the bare event queue of sim/engine: Poisson arrivals
// at rate lambda, exponential service at rate mu, one server, FIFO. Only the
// number in system matters for FIFO's queue-length statistics, so the queue is a
// counter; arrivals and departures are the engine's events and all randomness
// comes from eng.NewRand(). It integrates the number in system over time, so
// MeanInSystem is the time average L (ρ/(1−ρ) in steady state).
type mm1 struct {
	eng        *engine.Engine
	arrivalRNG *rand.Rand
	serviceRNG *rand.Rand
	lambda, mu float64

	inSystem int
	lastAt   time.Duration
	area     float64 // ∫ inSystem dt, in mm1Unit·customers
	arrivals int
	served   int

	arrive, depart func() // the events, built once so scheduling allocates no closure
}

// newMM1 returns the model with its first arrival scheduled.
func newMM1(seed uint64, lambda, mu float64) *mm1 {
	eng := engine.New(seed)
	m := &mm1{eng: eng, arrivalRNG: eng.NewRand(), serviceRNG: eng.NewRand(), lambda: lambda, mu: mu}
	m.arrive = m.onArrival
	m.depart = m.onDeparture
	m.eng.After(m.draw(m.arrivalRNG, lambda), m.arrive)
	return m
}

// draw is an exponential time with the given rate per mm1Unit.
func (m *mm1) draw(rng *rand.Rand, rate float64) time.Duration {
	return time.Duration(rng.ExpFloat64() / rate * float64(mm1Unit))
}

// account adds the time since the last change to the area under inSystem.
func (m *mm1) account() {
	now := m.eng.Now()
	m.area += float64(m.inSystem) * float64(now-m.lastAt) / float64(mm1Unit)
	m.lastAt = now
}

func (m *mm1) onArrival() {
	m.account()
	m.arrivals++
	m.inSystem++
	if m.inSystem == 1 { // the server was idle: start service now
		m.eng.After(m.draw(m.serviceRNG, m.mu), m.depart)
	}
	m.eng.After(m.draw(m.arrivalRNG, m.lambda), m.arrive)
}

func (m *mm1) onDeparture() {
	m.account()
	m.served++
	m.inSystem--
	if m.inSystem > 0 { // FIFO: the next in line starts service
		m.eng.After(m.draw(m.serviceRNG, m.mu), m.depart)
	}
}

// run runs the model until units of mm1Unit of virtual time have passed.
func (m *mm1) run(units float64) {
	end := time.Duration(units * float64(mm1Unit))
	m.eng.RunUntil(end)
	m.account()
}

// MeanInSystem is the time-average number in system so far (L).
func (m *mm1) MeanInSystem() float64 {
	if m.lastAt == 0 {
		return 0
	}
	return m.area / (float64(m.lastAt) / float64(mm1Unit))
}

// mm1L is the steady-state mean number in system of an M/M/1 queue, ρ/(1−ρ).
func mm1L(lambda, mu float64) float64 {
	rho := lambda / mu
	return rho / (1 - rho)
}

// TestMM1MeanInSystem checks that the model BenchmarkEngine times is a real
// M/M/1 queue: its time-average number in system matches ρ/(1−ρ) and it serves
// what arrives (arrivals per unit time ≈ λ). The tolerances are a few standard
// errors of the estimate for the run length (the estimator's variance for ρ=0.9
// is ≈ 2ρ(1+ρ)/(1−ρ)⁴ per unit time, ≈ 0.19 on 9 after 10⁶ units).
func TestMM1MeanInSystem(t *testing.T) {
	tests := []struct {
		name       string
		lambda, mu float64
		units      float64
		tolerance  float64 // relative
	}{
		{name: "rho=0.5", lambda: 0.5, mu: 1, units: 200_000, tolerance: 0.03},
		{name: "rho=0.9", lambda: 0.9, mu: 1, units: 1_000_000, tolerance: 0.05},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if testing.Short() && tt.units > 500_000 {
				t.Skip("long run")
			}
			m := newMM1(1, tt.lambda, tt.mu)
			m.run(tt.units)
			checkMM1(t, m, tt.units, tt.tolerance)
		})
	}
}

// checkMM1 fails tb when the model's statistics are off the M/M/1 formulas.
func checkMM1(tb testing.TB, m *mm1, units, tolerance float64) {
	tb.Helper()
	want := mm1L(m.lambda, m.mu)
	if got := m.MeanInSystem(); math.Abs(got-want) > tolerance*want {
		tb.Fatalf("mean number in system = %.3f, want ρ/(1−ρ) = %.3f ± %.0f%%", got, want, tolerance*100)
	}
	if got := float64(m.arrivals) / units; math.Abs(got-m.lambda) > 0.01*m.lambda {
		tb.Fatalf("arrival rate = %.4f, want λ = %.4f ± 1%%", got, m.lambda)
	}
	if backlog := m.arrivals - m.served; backlog != m.inSystem {
		tb.Fatalf("arrivals − served = %d, but %d in system", backlog, m.inSystem)
	}
	if got := m.eng.Steps(); got != uint64(m.arrivals+m.served) {
		tb.Fatalf("engine ran %d events, model saw %d arrivals + %d departures", got, m.arrivals, m.served)
	}
}

// BenchmarkEngine reports how many events per wall second (events/s) the bare
// event queue of sim/engine runs on an M/M/1 queue (λ = 0.9, μ = 1): each
// iteration runs 10⁶ units of virtual time, ≈ 1.8 M events (arrivals +
// departures, counted by Engine.Steps), and checks the mean number in system
// against ρ/(1−ρ), so the number is that of a real M/M/1. The comparison point
// is SimPy's ≈ 240,000 events/s for the same model.
func BenchmarkEngine(b *testing.B) {
	const units = 1_000_000
	var events uint64
	for i := 0; i < b.N; i++ {
		m := newMM1(1, 0.9, 1) // one seed: the check's outcome is fixed
		m.run(units)
		b.StopTimer()
		checkMM1(b, m, units, 0.05)
		b.StartTimer()
		events += m.eng.Steps()
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}
