set terminal pngcairo noenhanced size 900,520 font 'DejaVu Sans,10'
set output 'scaling_frag_1t.png'
set title "frag: throughput against live heap size, 1 thread\n(higher is better; flat = does not slow down as the heap grows; bars: min..max of the repetitions)"
set xlabel 'live data, MiB (log scale)'
set ylabel 'million malloc+free calls per second (log scale)'
set logscale x 2
set logscale y
set ytics (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200)
set mytics 1
set xrange [11.4286:1433.6]
set xtics ('16' 16, '64' 64, '256' 256, '1024' 1024)
set grid
set key outside right top
plot 'scaling_frag_1t.dat' using 1:2:3:4 with yerrorlines lw 3 lc rgb '#d62728' pt 7 title 'tamalloc', \
     'scaling_frag_1t.dat' using 1:5:6:7 with yerrorlines lw 2 lc rgb '#7f7f7f' pt 5 title 'glibc', \
     'scaling_frag_1t.dat' using 1:8:9:10 with yerrorlines lw 2 lc rgb '#1f77b4' pt 9 title 'jemalloc', \
     'scaling_frag_1t.dat' using 1:11:12:13 with yerrorlines lw 2 lc rgb '#2ca02c' pt 11 title 'tcmalloc', \
     'scaling_frag_1t.dat' using 1:14:15:16 with yerrorlines lw 2 lc rgb '#9467bd' pt 13 title 'mimalloc'
