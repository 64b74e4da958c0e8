package browsertest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// firstLoadBudget is the most the dashboard's first load may transfer.
const firstLoadBudget = 100 * 1024

// measureFirstLoad opens the dashboard's start page with an empty cache and
// adds up the bytes of every response the page loaded (DevTools Network
// events: headers and bodies as received), until the page has rendered and
// every request it started has finished.
func measureFirstLoad(b *tab) (bytes int64, requests int) {
	b.t.Helper()
	b.do("network", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		_, err := chromedp.Call(ctx, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true})
		return err
	}))
	var mu sync.Mutex
	started, done := map[network.RequestID]bool{}, map[network.RequestID]int64{}
	ctx, cancel := context.WithCancel(b.ctx)
	defer cancel()
	sent, finished, failed := chromedp.Events(ctx, network.RequestWillBeSent), chromedp.Events(ctx, network.LoadingFinished), chromedp.Events(ctx, network.LoadingFailed)
	go func() {
		for ev, err := range sent {
			if err != nil {
				return
			}
			mu.Lock()
			started[ev.RequestID] = true
			mu.Unlock()
		}
	}()
	go func() {
		for ev, err := range finished {
			if err != nil {
				return
			}
			mu.Lock()
			done[ev.RequestID] = int64(ev.EncodedDataLength)
			mu.Unlock()
		}
	}()
	go func() {
		for ev, err := range failed {
			if err != nil {
				return
			}
			mu.Lock()
			done[ev.RequestID] = 0
			mu.Unlock()
		}
	}()
	b.open("/login", "/login")
	deadline := time.Now().Add(timeout)
	for {
		mu.Lock()
		settled := len(started) > 0 && len(done) >= len(started)
		if settled {
			for _, n := range done {
				bytes += n
			}
			requests = len(done)
		}
		mu.Unlock()
		if settled {
			return bytes, requests
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("the first load never settled: %d requests started, %d finished", len(started), len(done))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The dashboard's first load stays under its budget.
func firstLoad(t *testing.T) {
	b := newTab(t)
	n, requests := measureFirstLoad(b)
	t.Logf("first load of %s/login: %d bytes transferred in %d requests (budget %d)", b.e.appURL, n, requests, firstLoadBudget)
	if n > firstLoadBudget {
		t.Fatalf("the first load transferred %d bytes, over the %d-byte budget", n, firstLoadBudget)
	}
	if requests < 5 {
		t.Fatalf("only %d requests counted: the measurement missed the page's modules", requests)
	}
}
