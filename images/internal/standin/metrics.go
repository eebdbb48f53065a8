package standin

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"sync"
)

// Counter is a Prometheus counter family keyed by one label's value ("" for none).
type Counter struct {
	Name, Help, Label string
	mu                sync.Mutex
	values            map[string]float64
}

// NewCounter makes a family; the given label values are exported at 0 from the start, so a
// rate over the first minutes sees the counter begin rather than appear.
func NewCounter(name, help, label string, initial ...string) *Counter {
	c := &Counter{Name: name, Help: help, Label: label, values: map[string]float64{}}
	for _, v := range initial {
		c.values[v] = 0
	}
	return c
}

// Add adds delta to the series with the label value.
func (c *Counter) Add(value string, delta float64) {
	c.mu.Lock()
	c.values[value] += delta
	c.mu.Unlock()
}

// Write writes the family in the text exposition format.
func (c *Counter) Write(w io.Writer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n", c.Name, c.Help, c.Name)
	keys := make([]string, 0, len(c.values))
	for k := range c.values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		labels := ""
		if c.Label != "" {
			labels = fmt.Sprintf("{%s=%q}", c.Label, k)
		}
		fmt.Fprintf(w, "%s%s %s\n", c.Name, labels, number(c.values[k]))
	}
}

// Histogram is a Prometheus histogram without labels.
type Histogram struct {
	Name, Help string
	Bounds     []float64
	mu         sync.Mutex
	counts     []uint64 // per bound, not cumulative
	count      uint64
	sum        float64
}

// NewHistogram makes a histogram with the given upper bounds (ascending).
func NewHistogram(name, help string, bounds []float64) *Histogram {
	return &Histogram{Name: name, Help: help, Bounds: bounds, counts: make([]uint64, len(bounds))}
}

// Observe records one value.
func (h *Histogram) Observe(v float64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.count++
	h.sum += v
	for i, b := range h.Bounds {
		if v <= b {
			h.counts[i]++
			return
		}
	}
}

// Write writes the histogram's buckets (cumulative), sum and count.
func (h *Histogram) Write(w io.Writer) {
	h.mu.Lock()
	defer h.mu.Unlock()
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s histogram\n", h.Name, h.Help, h.Name)
	var cumulative uint64
	for i, b := range h.Bounds {
		cumulative += h.counts[i]
		fmt.Fprintf(w, "%s_bucket{le=%q} %d\n", h.Name, number(b), cumulative)
	}
	fmt.Fprintf(w, "%s_bucket{le=\"+Inf\"} %d\n", h.Name, h.count)
	fmt.Fprintf(w, "%s_sum %s\n%s_count %d\n", h.Name, number(h.sum), h.Name, h.count)
}

func number(v float64) string {
	if math.IsInf(v, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}
