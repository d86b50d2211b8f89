package pkgfile

import (
	"context"
	"errors"
	"io"
	"sync"
)

const (
	chunkSize  = 1 << 20 // pipeline buffer
	chunkCount = 6       // buffers in flight
)

// newBuffers allocates the pipeline buffers.
func newBuffers() [][]byte {
	bufs := make([][]byte, chunkCount)
	for i := range bufs {
		bufs[i] = make([]byte, chunkSize)
	}
	return bufs
}

// pipeline streams r through stages, each chunk passing every stage in
// order: r is read in one goroutine, every stage but the last runs in a
// goroutine of its own, the last one in the caller's. On a machine with
// SHA-NI, reading, hashing and writing a file then overlap instead of
// adding up. The chunks are the buffers of bufs, reused (a stage must not
// keep a chunk). The first error (reading, a stage, or ctx) stops all and
// is returned; pipeline returns once every goroutine has ended.
func pipeline(ctx context.Context, r io.Reader, bufs [][]byte, stages ...func([]byte) error) error {
	n := len(bufs)
	free := make(chan []byte, n)
	for _, b := range bufs {
		free <- b[:cap(b)]
	}
	// chans[i] feeds stage i; every channel can hold all the buffers, so
	// sends never block.
	chans := make([]chan []byte, len(stages))
	for i := range chans {
		chans[i] = make(chan []byte, n)
	}
	var (
		once     sync.Once
		stop     = make(chan struct{})
		firstErr error
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		once.Do(func() {
			firstErr = err
			close(stop)
		})
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(chans[0])
		for {
			var b []byte
			select {
			case b = <-free:
			case <-stop:
				return
			}
			if err := ctx.Err(); err != nil {
				fail(err)
				return
			}
			k, err := io.ReadFull(r, b)
			if k > 0 {
				chans[0] <- b[:k]
			} else {
				free <- b
			}
			switch {
			case err == nil:
			case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
				return
			default:
				fail(err)
				return
			}
		}
	}()
	run := func(i int) {
		last := i == len(stages)-1
		if !last {
			defer close(chans[i+1])
		}
		for b := range chans[i] {
			select {
			case <-stop:
				return
			default:
			}
			if err := stages[i](b); err != nil {
				fail(err)
				return
			}
			if last {
				free <- b[:cap(b)]
			} else {
				chans[i+1] <- b
			}
		}
	}
	for i := range len(stages) - 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run(i)
		}()
	}
	run(len(stages) - 1)
	wg.Wait()
	return firstErr
}
