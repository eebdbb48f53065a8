// The stand-in time-resolver of the local cluster's images: the service the engine calls to
// resolve times. GET /resolve?tz=Europe/Paris answers the current time in that zone.
package main

import (
	"encoding/json"
	"flag"
	"log"
	"net/http"
	"time"
	_ "time/tzdata" // a from-scratch image has no zoneinfo

	"involution.local/images/internal/standin"
)

func resolve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	name := r.URL.Query().Get("tz")
	if name == "" {
		name = "UTC"
	}
	zone, err := time.LoadLocation(name)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]string{
		"zone": name, "time": time.Now().In(zone).Format(time.RFC3339Nano),
	})
}

func main() {
	log.SetFlags(log.LstdFlags | log.LUTC)
	listen := flag.String("listen", ":8080", "address to serve on")
	flag.Parse()
	var probes standin.Probes
	mux := http.NewServeMux()
	probes.Register(mux)
	mux.HandleFunc("/resolve", resolve)
	probes.SetReady(true)
	log.Printf("time-resolver on %s", *listen)
	drain := standin.EnvDuration("INVOLUTION_SHUTDOWN_DRAIN_SECONDS", 5*time.Second)
	if err := standin.Serve(*listen, mux, &probes, drain); err != nil {
		log.Fatal(err)
	}
}
