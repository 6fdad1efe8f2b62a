// Command sensorgw is a sensor gateway built on rtcell: a SCHED_FIFO
// worker samples a simulated sensor at 2 kHz and pushes each sample
// {Seq, TimestampNs, Value} into a shared-memory ring; the non-real-time
// side pops the ring in batches every 10 ms and forwards them over TCP
// to a collector on 127.0.0.1 (built in, or another `sensorgw -collect`).
//
// Wire format (big-endian): each batch is a frame of a uint32 sample
// count followed by count × 24-byte samples (seq uint64, timestamp_ns
// int64, value float64 bits); the collector answers each frame with a
// 32-byte ack of its running totals (received, missing, out of order,
// corrupt), and the gateway sends the next frame only after that ack.
// An ack must say exactly the frame's samples were received: one that
// claims more (or fewer) is a protocol error, and the gateway closes the
// connection.
//
// When the collector fails (connection lost, no ack in 10 s, a bad ack)
// the gateway reconnects with capped exponential backoff, 50 ms doubling
// to 2 s. Meanwhile it pops nothing: the ring fills and what its policy
// drops is counted. The frame that was sent but not acknowledged is
// resent first on the new connection, so nothing taken from the ring is
// lost; a collector that got it before failing sees it twice
// (at-least-once). The collector serves at most -max-conns connections
// (64) and closes one that sends no frame for -idle-timeout (30 s).
//
// At the end it reports what the RT side produced, what the ring dropped
// and still holds, what the collector received, the gaps and reorderings
// the collector saw in the sequence numbers, and the end-to-end loss
// (produced − received), then a summary line such as
//
//	SUMMARY produced=3997 dropped=0 left=0 received=3997 lost=0 missing=0 ordered=true corrupt=0 balanced=true reconnects=0
//
// A slow collector (-collector-delay) makes the forwarder wait, the ring
// fill and the ring's policy (-policy drop-newest or overwrite-oldest)
// drop samples, counted; the RT side never waits.
//
// The exit code is 0 when the run completed (deadline misses and dropped
// samples are counted, not failures), 3 when the sampler stalled (the
// watchdog stops it, and the run ends) or the collector was unreachable
// at the end with samples unsent, 2 when a
// flag is wrong or the sampler could not start (privileges, a CPU another
// rtcell process measures on).
//
// Run it as root (SCHED_FIFO, mlockall):
//
//	go run ./examples/sensorgw -duration 5s
//	go run ./examples/sensorgw -duration 5s -collector-delay 100ms -batch 8
//	go run ./examples/sensorgw -collect 127.0.0.1:9000 &        # a separate collector
//	go run ./examples/sensorgw -collector 127.0.0.1:9000
package main
