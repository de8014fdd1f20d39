set terminal pngcairo noenhanced size 1000,520 font 'DejaVu Sans,10'
set output 'scaling_search_steps.png'
set title "tamalloc: next-fit search steps against live heap size\n(mean steps per search, median of the repetitions; dashed: 2 log2 of the peak free-block count)"
set xlabel 'live data, MiB (log scale)'
set ylabel 'steps per search'
set logscale x 2
set xrange [11.4286:1433.6]
set xtics ('16' 16, '64' 64, '256' 256, '1024' 1024)
set yrange [0:*]
set grid
set key outside right top
plot 'scaling_search_steps.dat' using 1:2 with linespoints lw 2 pt 7 dt 1 lc rgb '#d62728' title 'frag, 1 thread: mean steps', \
     'scaling_search_steps.dat' using 1:3 with linespoints lw 2 pt 7 dt 1 lc rgb '#1f77b4' title 'frag, 2 threads: mean steps', \
     'scaling_search_steps.dat' using 1:4 with linespoints lw 2 pt 7 dt 1 lc rgb '#2ca02c' title 'frag, 4 threads: mean steps', \
     'scaling_search_steps.dat' using 1:5 with linespoints lw 1 pt 6 dt 2 lc rgb '#d62728' title 'frag: 2 log2(peak free blocks), 1 thread', \
     'scaling_search_steps.dat' using 1:6 with linespoints lw 2 pt 7 dt 1 lc rgb '#9467bd' title 'grow, 1 thread: mean steps', \
     'scaling_search_steps.dat' using 1:7 with linespoints lw 2 pt 7 dt 1 lc rgb '#ff7f0e' title 'grow, 2 threads: mean steps', \
     'scaling_search_steps.dat' using 1:8 with linespoints lw 2 pt 7 dt 1 lc rgb '#8c564b' title 'grow, 4 threads: mean steps', \
     'scaling_search_steps.dat' using 1:9 with linespoints lw 1 pt 6 dt 2 lc rgb '#9467bd' title 'grow: 2 log2(peak free blocks), 1 thread'
