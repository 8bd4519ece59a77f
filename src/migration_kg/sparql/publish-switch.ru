# title: Switch the current release
# description: One SPARQL Update operation (one transaction in Virtuoso and Oxigraph) that replaces the pointer graph's content: ?current now names ?release, and ?previous (UNDEF for none) is kept for rollback.
PREFIX pub: <https://w3id.org/eu-migration-kg/publish#>
DELETE { GRAPH ?pointer { ?s ?p ?o } }
INSERT { GRAPH ?pointer { ?current pub:release ?release . ?current pub:previous ?previous . } }
WHERE {
  OPTIONAL { GRAPH ?pointer { ?s ?p ?o } }
}
