set terminal pngcairo noenhanced size 1000,520 font 'DejaVu Sans,10'
set output 'memory.png'
set title "peak RSS relative to glibc, 4 threads (lower is better; memcached: the server's)"
set ylabel 'peak RSS / glibc peak RSS'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set xtics rotate by -25
set yrange [0:*]
set grid ytics
set key outside right top
plot 'memory.dat' using 2:xtic(1) title 'tamalloc' lc rgb '#d62728', \
     'memory.dat' using 3 title 'glibc' lc rgb '#7f7f7f', \
     'memory.dat' using 4 title 'jemalloc' lc rgb '#1f77b4', \
     'memory.dat' using 5 title 'tcmalloc' lc rgb '#2ca02c', \
     'memory.dat' using 6 title 'mimalloc' lc rgb '#9467bd', 1 with lines lc rgb '#000000' dt 2 notitle
