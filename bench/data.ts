/**
 * npm run data -- fetch <cifar10|cifar100|tinyimagenet|fashion-mnist> [--dir D] [--url URL]
 *                 verify <dataset> [--dir D] [--json]
 *                 inspect <dataset> [--dir D] [--resolution R] [--json]
 *                 prepare imagenet100 --imagenet-dir PATH [--val-labels FILE] [--resolution R] [--dir D]
 */
import path from 'node:path';
import {
  ARCHIVES,
  classCounts,
  DATASET_NAMES,
  datasetCopy,
  defaultDataRoot,
  FILE_SETS,
  loadDataset,
  verifyDataset,
} from '../datasets/registry.js';
import { fetchArchive, fetchFiles } from '../datasets/fetch.js';
import { DatasetError } from '../datasets/types.js';
import { prepareImageNet100 } from '../datasets/imagenet100.js';
import { parseFlags, parseIntFlag, runMain, UsageError } from '../src/cli.js';

const FETCHABLE = [...Object.keys(ARCHIVES), ...Object.keys(FILE_SETS)];

const USAGE = `usage: npm run data -- <command> <dataset> [options]

commands:
  fetch <${FETCHABLE.join('|')}>
                        download the official archive (resumable), check its md5, extract it safely;
                        fashion-mnist: its four .gz files, each resumable and md5-checked
  verify <dataset>      check an extracted copy (files, record counts, labels, class names);
                        fashion-mnist: the md5 of each file's decompressed content, so Debian's copy
                        (apt-get install dataset-fashion-mnist, used when the data root has none) verifies too
  inspect <dataset>     sizes, classes, image shape and class counts (decodes Tiny-ImageNet on first use)
  prepare imagenet100   decode the ImageNet-100 subset of a local ILSVRC-2012 copy into the cache

datasets: ${DATASET_NAMES.join(', ')}

options:
  --dir=D     data root (default: $SSL_BENCH_DATA, else ./data in the repository; now ${defaultDataRoot()})
  --url=URL   fetch from a mirror instead of the official address (the md5 is still checked);
              for fashion-mnist the folder holding the four files
  --resolution=R      cache resolution of JPEG datasets (Tiny-ImageNet 64, ImageNet-100 224)
  --imagenet-dir=PATH a local ILSVRC-2012 with train/<wnid>/ and val/ (prepare)
  --val-labels=FILE   labels of a flat val/ folder, "<file> <wnid>" per line (prepare)
  --json      machine-readable output`;

function progressPrinter(unit: 'MB' | 'images' = 'MB', label = ''): (received: number, total: number) => void {
  let lastTenth = -1;
  const scale = unit === 'MB' ? 1e6 : 1;
  const digits = unit === 'MB' ? 1 : 0;
  return (received, total) => {
    const fraction = total > 0 ? received / total : 0;
    const text = `${label}${(received / scale).toFixed(digits)} / ${(total / scale).toFixed(digits)} ${unit} (${(100 * fraction).toFixed(0)} %)`;
    if (process.stderr.isTTY) process.stderr.write(`\r  ${text}`);
    else if (Math.floor(fraction * 10) > lastTenth) {
      lastTenth = Math.floor(fraction * 10);
      process.stderr.write(`  ${text}\n`);
    }
  };
}

runMain(async () => {
  const { values, positionals } = parseFlags(
    process.argv.slice(2),
    {
      dir: { type: 'string' },
      url: { type: 'string' },
      resolution: { type: 'string' },
      'imagenet-dir': { type: 'string' },
      'val-labels': { type: 'string' },
      json: { type: 'boolean' },
    },
    USAGE,
    true,
  );
  const [command, name] = positionals;
  if (!command || !name) throw new UsageError(`a command and a dataset are needed\n\n${USAGE}`);
  const root = path.resolve(values.dir ?? defaultDataRoot());
  const resolution = values.resolution === undefined ? undefined : parseIntFlag('resolution', values.resolution, 0, 8, 1024);
  const printers = new Map<string, ReturnType<typeof progressPrinter>>();
  const onProgress = (split: string, done: number, total: number) => {
    if (!printers.has(split)) printers.set(split, progressPrinter('images', `decoding ${split}: `));
    printers.get(split)!(done, total);
  };
  try {
    if (command === 'fetch') {
      const spec = ARCHIVES[name];
      const fileSet = FILE_SETS[name];
      if (!spec && !fileSet)
        throw new UsageError(`cannot fetch "${name}"; fetchable: ${FETCHABLE.join(', ')} (synthetic needs no download)`);
      process.stderr.write(`fetching ${name} into ${root}\n`);
      let dir: string;
      if (spec) dir = await fetchArchive(values.url ? { ...spec, url: checkUrl(values.url, spec.url) } : spec, root, progressPrinter());
      else {
        const filePrinters = new Map<string, ReturnType<typeof progressPrinter>>();
        dir = await fetchFiles(values.url ? { ...fileSet, baseUrl: checkUrl(values.url) } : fileSet, root, (file, received, total) => {
          if (!filePrinters.has(file)) {
            if (process.stderr.isTTY && filePrinters.size > 0) process.stderr.write('\n');
            filePrinters.set(file, progressPrinter('MB', `${file}: `));
          }
          filePrinters.get(file)!(received, total);
        });
      }
      if (process.stderr.isTTY) process.stderr.write('\n');
      const { problems } = await verifyDataset(name, root);
      if (problems.length > 0)
        throw new DatasetError(`${dir} ${spec ? 'extracted' : 'fetched'} but does not verify:\n  ${problems.join('\n  ')}`);
      process.stdout.write(values.json ? `${JSON.stringify({ dataset: name, dir, ok: true })}\n` : `${name} ready in ${dir}\n`);
    } else if (command === 'verify') {
      const verified = await verifyDataset(checkName(name), root, { resolution, onProgress });
      const { dataset, problems } = verified;
      const copy = dataset ? datasetCopy(dataset, root, resolution) : null;
      const dir = copy?.dir ?? verified.dir;
      const where = `${dir ? ` in ${dir}` : ''}${copy?.fallback ? ` (${copy.fallback})` : ''}`;
      if (values.json)
        process.stdout.write(
          `${JSON.stringify({ dataset: name, ok: problems.length === 0, problems, dir, fallback: copy?.fallback ?? null })}\n`,
        );
      else
        process.stdout.write(
          dataset && problems.length === 0
            ? `${name}: ok${where} (${dataset.train.size} train, ${dataset.test.size} test)\n`
            : `${name}: ${problems.length} problem(s)${where}\n  ${problems.join('\n  ')}\n`,
        );
      if (problems.length > 0) process.exitCode = 1;
    } else if (command === 'inspect') {
      const ds = await loadDataset(checkName(name), root, { resolution, onProgress });
      const copy = datasetCopy(ds, root, resolution);
      const report = {
        dataset: ds.name,
        dir: copy.dir,
        fallback: copy.fallback,
        train: ds.train.size,
        test: ds.test.size,
        classes: ds.classes.length,
        image_shape: ds.imageShape,
        class_counts: { train: classCounts(ds.train.labels, ds.classes.length), test: classCounts(ds.test.labels, ds.classes.length) },
      };
      if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`);
      else
        process.stdout.write(
          `${ds.name}: ${ds.train.size} train, ${ds.test.size} test, ${ds.classes.length} classes, images ${ds.imageShape.join('x')}\n` +
            `  read from ${copy.dir}${copy.fallback ? ` (${copy.fallback})` : ''}\n`,
        );
    } else if (command === 'prepare') {
      if (name !== 'imagenet100') throw new UsageError(`only imagenet100 is prepared from a local copy; got "${name}"`);
      const imagenetDir = values['imagenet-dir'];
      if (!imagenetDir) throw new UsageError('prepare imagenet100 needs --imagenet-dir PATH (a local ILSVRC-2012 with train/ and val/)');
      const dir = await prepareImageNet100({
        imagenetDir: path.resolve(imagenetDir),
        root,
        resolution,
        valLabels: values['val-labels'],
        onProgress,
      });
      process.stdout.write(values.json ? `${JSON.stringify({ dataset: name, dir, ok: true })}\n` : `imagenet100 ready in ${dir}\n`);
    } else {
      throw new UsageError(`unknown command "${command}"; valid: fetch, verify, inspect, prepare\n\n${USAGE}`);
    }
  } catch (e) {
    // Network failures the fetch did not describe (the request's own errors are DatasetErrors naming the URL).
    if (isNetworkError(e))
      throw new DatasetError(
        `download failed: ${(e as Error).message}; check the network (or --url), then run the command again: it resumes`,
      );
    throw e;
  }
});

/** A dataset name, or a UsageError listing the valid ones (a DatasetError, exit 1, is for a bad copy). */
function checkName(name: string): string {
  if (!(DATASET_NAMES as readonly string[]).includes(name))
    throw new UsageError(`unknown dataset "${name}"; valid: ${DATASET_NAMES.join(', ')}`);
  return name;
}

/** --url: an http(s) address; for an archive, of the file itself (its name is where the download goes). */
function checkUrl(url: string, officialArchive?: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--url=${url} is not an address; write it in full, e.g. https://mirror.example.org/cifar-10-binary.tar.gz`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new UsageError(`--url=${url}: only http and https are fetched`);
  if (officialArchive && parsed.pathname.endsWith('/'))
    throw new UsageError(
      `--url=${url} names a folder; name the archive file itself (…/${path.basename(new URL(officialArchive).pathname)})`,
    );
  return url;
}

function isNetworkError(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException)?.code;
  return typeof code === 'string' && /^(ECONNRESET|ECONNREFUSED|ENOTFOUND|ETIMEDOUT|EAI_AGAIN|EPIPE|EHOSTUNREACH|ENETUNREACH)$/.test(code);
}
