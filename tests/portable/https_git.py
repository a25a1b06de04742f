#!/usr/bin/env python3
"""The smart-HTTP git server of tests/env over TLS, so a binary's https transport (libgit2 on the
OpenSSL compiled into wego) is tested against a real handshake and certificate check:
    python3 https_git.py ROOT PORT CERT KEY   (binds 127.0.0.1 only)"""
import http.server, os, runpy, ssl, sys

root, port, cert, key = sys.argv[1:5]


class TLSServer(http.server.ThreadingHTTPServer):
    def server_bind(self):
        super().server_bind()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.socket = ctx.wrap_socket(self.socket, server_side=True)


# git_http_server.py builds its server from http.server.ThreadingHTTPServer when it runs.
http.server.ThreadingHTTPServer = TLSServer
sys.argv = [sys.argv[0], root, port]
here = os.path.dirname(os.path.abspath(__file__))
runpy.run_path(os.path.join(here, '..', 'env', 'git_http_server.py'), run_name='__main__')
