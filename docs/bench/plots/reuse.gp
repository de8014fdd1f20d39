set terminal pngcairo noenhanced size 900,520 font 'DejaVu Sans,10'
set output 'reuse.png'
set title "reuse: reuse: SCALE MiB allocated, written and freed (half cross-thread), 8 rounds\nthroughput by thread count (higher is better; bars: min..max of the repetitions)"
set xlabel 'threads (2 cores: 4 and 8 are oversubscribed)'
set ylabel 'million malloc+free calls per second'
set logscale x 2
set xtics (1, 2, 4, 8)
set xrange [0.769231:10.4]
set yrange [0:*]
set grid
set key outside right top
plot 'reuse.dat' using 1:2:3:4 with yerrorlines lw 3 lc rgb '#d62728' pt 7 title 'tamalloc', \
     'reuse.dat' using 1:5:6:7 with yerrorlines lw 2 lc rgb '#7f7f7f' pt 5 title 'glibc', \
     'reuse.dat' using 1:8:9:10 with yerrorlines lw 2 lc rgb '#1f77b4' pt 9 title 'jemalloc', \
     'reuse.dat' using 1:11:12:13 with yerrorlines lw 2 lc rgb '#2ca02c' pt 11 title 'tcmalloc', \
     'reuse.dat' using 1:14:15:16 with yerrorlines lw 2 lc rgb '#9467bd' pt 13 title 'mimalloc'
