set terminal pngcairo noenhanced size 900,520 font 'DejaVu Sans,10'
set output 'batch.png'
set title "batch: batches of one size: N = 16/256/4096 blocks of 16 B..4 KiB, then freed first-in first-out\nthroughput by thread count (higher is better; bars: min..max of the repetitions)"
set xlabel 'threads (2 cores: 4 and 8 are oversubscribed)'
set ylabel 'million malloc+free calls per second'
set logscale x 2
set xtics (1, 2, 4, 8)
set xrange [0.769231:10.4]
set yrange [0:*]
set grid
set key outside right top
plot 'batch.dat' using 1:2:3:4 with yerrorlines lw 3 lc rgb '#d62728' pt 7 title 'tamalloc', \
     'batch.dat' using 1:5:6:7 with yerrorlines lw 2 lc rgb '#7f7f7f' pt 5 title 'glibc', \
     'batch.dat' using 1:8:9:10 with yerrorlines lw 2 lc rgb '#1f77b4' pt 9 title 'jemalloc', \
     'batch.dat' using 1:11:12:13 with yerrorlines lw 2 lc rgb '#2ca02c' pt 11 title 'tcmalloc', \
     'batch.dat' using 1:14:15:16 with yerrorlines lw 2 lc rgb '#9467bd' pt 13 title 'mimalloc'
