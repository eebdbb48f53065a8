// The stand-in Involution Engine of the local cluster's images: an HTTP server on the engine's
// port that answers every request naming its track and version, exports the metrics the
// alert rules and the canary analysis read, checks its cache (Redis, with the Secret's
// password) and the time-resolver before it reports ready, and injects the faults its image
// was built with (a share of 5xx answers, added latency, failed accuracy checks).
//
//	engine [flags]                  serve
//	engine redis-check [--no-auth | --password P]   one AUTH/PING from inside a pod
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"involution.local/images/internal/standin"
)

type config struct {
	listen          string
	trackHeader     string
	versionHeader   string
	requestsMetric  string
	statusLabel     string
	latencyMetric   string
	accuracyMetric  string
	errorPercent    float64
	latency         time.Duration
	accuracyPerMin  float64
	track, version  string
	claimed         string
	resolverURL     string
	redisAddr       string
	redisPassword   string
	redisKeyPrefix  string
	drain           time.Duration
	dependencyRetry time.Duration
}

func envFloat(name string) float64 {
	v, ok := os.LookupEnv(name)
	if !ok || v == "" {
		return 0
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || math.IsNaN(f) {
		log.Fatalf("%s=%q: want a number >= 0", name, v)
	}
	return f
}

func readConfig(args []string) config {
	fs := flag.NewFlagSet("engine", flag.ExitOnError)
	c := config{}
	fs.StringVar(&c.listen, "listen", ":8080", "address to serve on")
	fs.StringVar(&c.trackHeader, "track-header", "X-Involution-Track", "response header naming the track")
	fs.StringVar(&c.versionHeader, "version-header", "X-Involution-Version", "response header naming the version")
	fs.StringVar(&c.requestsMetric, "requests-metric", "involution_http_requests_total", "")
	fs.StringVar(&c.statusLabel, "status-label", "code", "")
	fs.StringVar(&c.latencyMetric, "latency-metric", "involution_http_request_duration_seconds", "")
	fs.StringVar(&c.accuracyMetric, "accuracy-metric", "involution_accuracy_check_failures_total", "")
	_ = fs.Parse(args)
	c.errorPercent = envFloat("INVOLUTION_FAULT_ERROR_PERCENT")
	if c.errorPercent > 100 {
		log.Fatalf("INVOLUTION_FAULT_ERROR_PERCENT=%g: at most 100", c.errorPercent)
	}
	c.latency = time.Duration(envFloat("INVOLUTION_FAULT_LATENCY_MS") * float64(time.Millisecond))
	c.accuracyPerMin = envFloat("INVOLUTION_FAULT_ACCURACY_FAILURES_PER_MINUTE")
	c.track = os.Getenv("INVOLUTION_TRACK")
	// The version this image was built as (the image's own environment), not the one the
	// Deployment claims (INVOLUTION_VERSION): a hand-changed image shows in every answer.
	c.version = os.Getenv("INVOLUTION_BUILT_VERSION")
	c.claimed = os.Getenv("INVOLUTION_VERSION")
	c.resolverURL = os.Getenv("TIME_RESOLVER_URL")
	c.redisAddr = os.Getenv("REDIS_ADDR")
	c.redisPassword = os.Getenv("REDIS_PASSWORD")
	c.redisKeyPrefix = os.Getenv("REDIS_KEY_PREFIX")
	c.drain = standin.EnvDuration("INVOLUTION_SHUTDOWN_DRAIN_SECONDS", 5*time.Second)
	c.dependencyRetry = time.Second
	return c
}

// engine serves requests and counts them as the metrics say.
type engine struct {
	c        config
	probes   standin.Probes
	requests *standin.Counter
	latency  *standin.Histogram
	accuracy *standin.Counter
	served   atomic.Uint64
	mu       sync.Mutex
	deps     map[string]string // dependency -> "ok" or its last error
}

func newEngine(c config) *engine {
	return &engine{
		c: c,
		requests: standin.NewCounter(c.requestsMetric, "Engine HTTP requests by status code.",
			c.statusLabel, "200", "500"),
		latency: standin.NewHistogram(c.latencyMetric, "Engine request duration in seconds.",
			[]float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.2, 0.3, 0.5, 1, 2.5, 5}),
		accuracy: standin.NewCounter(c.accuracyMetric, "Failed accuracy spot checks.", "", ""),
		deps:     map[string]string{},
	}
}

// failNext spreads the configured error share evenly: request n fails when the running
// total floor(n * p) steps up, so any window of 100/p requests holds exactly one failure.
func (e *engine) failNext() bool {
	if e.c.errorPercent <= 0 {
		return false
	}
	n := e.served.Add(1)
	p := e.c.errorPercent / 100
	return math.Floor(float64(n)*p) > math.Floor(float64(n-1)*p)
}

func (e *engine) answer(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	w.Header().Set(e.c.trackHeader, e.c.track)
	w.Header().Set(e.c.versionHeader, e.c.version)
	w.Header().Set("Content-Type", "application/json")
	status := http.StatusOK
	if e.c.latency > 0 {
		time.Sleep(e.c.latency)
	}
	body := map[string]any{"track": e.c.track, "version": e.c.version, "path": r.URL.Path}
	if e.failNext() {
		status = http.StatusInternalServerError
		body["error"] = "injected fault"
	}
	if r.URL.Path == "/cache" && status == http.StatusOK {
		key := e.c.redisKeyPrefix + "stand-in:" + hostname()
		if err := standin.RedisRoundTrip(e.c.redisAddr, e.c.redisPassword, key); err != nil {
			status = http.StatusInternalServerError
			body["error"] = err.Error()
		} else {
			body["cache"] = "ok"
		}
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
	e.requests.Add(strconv.Itoa(status), 1)
	e.latency.Observe(time.Since(start).Seconds())
}

func (e *engine) metrics(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	e.requests.Write(w)
	e.latency.Write(w)
	e.accuracy.Write(w)
}

// status is for people: what the engine depends on, and what it was built to do wrong.
func (e *engine) status(w http.ResponseWriter, _ *http.Request) {
	e.mu.Lock()
	deps := map[string]string{}
	for k, v := range e.deps {
		deps[k] = v
	}
	e.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"track": e.c.track, "version": e.c.version, "deploymentVersion": e.c.claimed,
		"pod": hostname(), "dependencies": deps,
		"faults": map[string]any{
			"errorPercent": e.c.errorPercent, "latencyMs": e.c.latency.Milliseconds(),
			"accuracyFailuresPerMinute": e.c.accuracyPerMin,
		},
	})
}

func (e *engine) record(dep string, err error) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err != nil {
		if e.deps[dep] != err.Error() {
			log.Printf("%s: %v", dep, err)
		}
		e.deps[dep] = err.Error()
		return false
	}
	if e.deps[dep] != "ok" {
		log.Printf("%s: ok", dep)
	}
	e.deps[dep] = "ok"
	return true
}

// checkDependencies marks the engine ready once its cache (authenticated with the Secret's
// password) and the time-resolver have both answered; a pod that cannot reach them never
// takes traffic.
func (e *engine) checkDependencies() {
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		cache := e.record("redis", standin.RedisRoundTrip(e.c.redisAddr, e.c.redisPassword,
			e.c.redisKeyPrefix+"stand-in:ready:"+hostname()))
		resolver := e.record("time-resolver", getOK(client, e.c.resolverURL+"/readyz"))
		if cache && resolver {
			e.probes.SetReady(true)
			return
		}
		time.Sleep(e.c.dependencyRetry)
	}
}

func getOK(client *http.Client, url string) error {
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %d", url, resp.StatusCode)
	}
	return nil
}

// failAccuracyChecks counts failed accuracy checks at the configured rate.
func (e *engine) failAccuracyChecks() {
	if e.c.accuracyPerMin <= 0 {
		return
	}
	for range time.Tick(time.Duration(float64(time.Minute) / e.c.accuracyPerMin)) {
		e.accuracy.Add("", 1)
	}
}

func hostname() string {
	name, _ := os.Hostname()
	return name
}

// redisCheck is `engine redis-check`: one connection to REDIS_ADDR from inside the pod,
// authenticated with REDIS_PASSWORD (or --password, or not at all with --no-auth), then PING.
// It prints Redis's replies; the exit code is 0 only when PING answered PONG.
func redisCheck(args []string) int {
	fs := flag.NewFlagSet("redis-check", flag.ExitOnError)
	noAuth := fs.Bool("no-auth", false, "connect without AUTH")
	password := fs.String("password", "", "AUTH with this password instead of REDIS_PASSWORD")
	_ = fs.Parse(args)
	addr := os.Getenv("REDIS_ADDR")
	secret := os.Getenv("REDIS_PASSWORD")
	if *password != "" {
		secret = *password
	}
	r, err := standin.DialRedis(addr, 3*time.Second)
	if err != nil {
		fmt.Printf("connect %s: %v\n", addr, err)
		return 2
	}
	defer r.Close()
	if !*noAuth {
		reply, err := r.Do("AUTH", secret)
		if err != nil {
			fmt.Printf("AUTH: %v\n", err)
			return 2
		}
		fmt.Printf("AUTH: %s\n", reply)
	}
	reply, err := r.Do("PING")
	if err != nil {
		fmt.Printf("PING: %v\n", err)
		return 2
	}
	fmt.Printf("PING: %s\n", reply)
	if reply != "+PONG" {
		return 1
	}
	return 0
}

func main() {
	log.SetFlags(log.LstdFlags | log.LUTC)
	if len(os.Args) > 1 && os.Args[1] == "redis-check" {
		os.Exit(redisCheck(os.Args[2:]))
	}
	e := newEngine(readConfig(os.Args[1:]))
	mux := http.NewServeMux()
	e.probes.Register(mux)
	mux.HandleFunc("/metrics", e.metrics)
	mux.HandleFunc("/_stand-in/status", e.status)
	mux.HandleFunc("/", e.answer)
	go e.checkDependencies()
	go e.failAccuracyChecks()
	log.Printf("engine %s (%s track) on %s; faults: %g%% errors, %s latency, %g accuracy failures/min",
		e.c.version, e.c.track, e.c.listen, e.c.errorPercent, e.c.latency, e.c.accuracyPerMin)
	if err := standin.Serve(e.c.listen, mux, &e.probes, e.c.drain); err != nil {
		log.Fatal(err)
	}
}
