// Prints every skipped test at the end of a run, with the reason its name carries (see
// test/support/services.ts): "N skipped" alone never says why.
class SkipReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.testResults.flatMap((file) =>
      file.testResults
        .filter((t) => t.status === 'pending' || t.status === 'skipped' || t.status === 'todo')
        .map((t) => `  ${file.testFilePath.replace(`${process.cwd()}/`, '')}: ${t.fullName}`),
    );
    if (skipped.length === 0) return;
    process.stderr.write(`\n${skipped.length} skipped:\n${skipped.join('\n')}\n`);
  }
}
module.exports = SkipReporter;
