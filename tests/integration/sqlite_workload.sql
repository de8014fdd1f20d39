-- sqlite_workload.sql - the scripted workload of preload_sqlite_test.sh, run on a file database.
-- Every result printed is exact (integer arithmetic), so the test checks known values and compares
-- runs with and without tamalloc.
PRAGMA journal_mode = WAL;
PRAGMA cache_size = -8000;
CREATE TABLE item(id INTEGER PRIMARY KEY, grp INTEGER NOT NULL, name TEXT NOT NULL, payload BLOB);
CREATE TABLE tag(item_id INTEGER NOT NULL REFERENCES item(id), tag TEXT NOT NULL);
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50000)
INSERT INTO item(id, grp, name, payload)
SELECT i, i % 97, printf('item-%06d-%s', i, substr('abcdefghijklmnopqrstuvwxyz', 1 + i % 26)), zeroblob(16 + (i % 13) * 40)
FROM n;
INSERT INTO tag(item_id, tag) SELECT id, 't' || (id % 7) FROM item WHERE id % 3 = 0;
COMMIT;
CREATE INDEX item_grp ON item(grp, name);
CREATE INDEX tag_item ON tag(item_id);
SELECT 'count', count(*), sum(id), sum(grp), sum(length(name)), sum(length(payload)) FROM item;
UPDATE item SET name = upper(name), payload = zeroblob(length(payload) * 2) WHERE grp % 5 = 0;
DELETE FROM item WHERE id % 11 = 0;
DELETE FROM tag WHERE item_id NOT IN (SELECT id FROM item);
SELECT 'after', count(*), sum(id), sum(length(payload)), sum(name GLOB 'ITEM-*') FROM item;
SELECT 'groups', count(*), sum(c), max(c), min(c) FROM (SELECT grp, count(*) AS c FROM item GROUP BY grp);
SELECT 'join', t.tag, count(*), sum(i.grp) FROM tag t JOIN item i ON i.id = t.item_id GROUP BY t.tag ORDER BY t.tag;
SELECT 'top', grp, group_concat(id, ',') FROM (SELECT grp, id FROM item WHERE grp IN (3, 50) ORDER BY id DESC LIMIT 10) GROUP BY grp ORDER BY grp;
SELECT 'sorted', name FROM item ORDER BY name DESC LIMIT 3;
PRAGMA wal_checkpoint(TRUNCATE);
VACUUM;
PRAGMA integrity_check;
SELECT 'final', count(*), total_changes() > 0 FROM item;
