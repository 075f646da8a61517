/* A monotonic clock in milliseconds, for the timings a generation reports
 * (stats.grammarMs, outputMs, sampleMs): performance.now() in wasm. */
#ifndef GF_CLOCK_H
#define GF_CLOCK_H

double gf_now_ms(void);

#endif
