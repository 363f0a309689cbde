import t from 'tap';
import { quote, renderCommand } from '../../src/kernel/command.js';

t.test('POSIX quoting leaves plain words alone and quotes the rest', async (t) => {
  t.equal(quote('veth-test1'), 'veth-test1');
  t.equal(quote('172.17.0.0/16'), '172.17.0.0/16');
  t.equal(quote('Connection: close'), `'Connection: close'`);
  t.equal(quote(`it's`), `'it'\\''s'`);
  t.equal(quote(''), `''`);
  t.equal(quote('$HOME'), `'$HOME'`);
});

t.test('stdin is rendered as a quoted heredoc whose tag does not occur in the input', async (t) => {
  t.equal(renderCommand({ file: 'ip', args: ['-batch', '-'], input: 'netns add a\n' }), `ip -batch - <<'EOF'\nnetns add a\nEOF`);
  t.equal(renderCommand({ file: 'cat', args: [], input: 'EOF\n' }), `cat <<'EOF_'\nEOF\nEOF_`);
  t.equal(renderCommand({ file: 'tee', args: ['/x'], input: 'a', discardOutput: true }), `tee /x >/dev/null <<'EOF'\na\nEOF`);
});
