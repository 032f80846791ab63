"""The DCAT catalogue (DCAT 2, W3C) of every listed dataset, in JSON-LD, RDF/XML and Turtle, so
national and provincial portals can harvest it (CKAN's ckanext-dcat reads the same shapes).

URLs: /opendata/catalog.jsonld, /opendata/catalog.rdf, /opendata/catalog.ttl (docs/opendata.md).
"""

from __future__ import annotations

from django.urls import reverse
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, SKOS, XSD

from yiwang.opendata import ckan, selectors
from yiwang.opendata.models import Distribution, OpenType, Theme

VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
FREQ = Namespace("http://purl.org/cld/freq/")
FREQUENCIES = {
    "realtime": FREQ.continuous,
    "daily": FREQ.daily,
    "weekly": FREQ.weekly,
    "monthly": FREQ.monthly,
    "quarterly": FREQ.quarterly,
    "annual": FREQ.annual,
    "irregular": FREQ.irregular,
}
FORMATS = {"CSV": "text/csv", "XLSX": ckan.MIMETYPES["XLSX"], "JSON": "application/json", "API": "application/json"}
SERIALIZERS = {
    "jsonld": ("json-ld", "application/ld+json"),
    "rdf": ("pretty-xml", "application/rdf+xml"),
    "ttl": ("turtle", "text/turtle"),
}


def catalogue_graph(request) -> Graph:
    graph = Graph()
    for prefix, ns in (("dcat", DCAT), ("dct", DCTERMS), ("foaf", FOAF), ("vcard", VCARD), ("skos", SKOS)):
        graph.bind(prefix, ns)
    site = request.build_absolute_uri("/").rstrip("/")
    catalog = URIRef(request.build_absolute_uri(reverse("opendata:search")))
    graph.add((catalog, RDF.type, DCAT.Catalog))
    graph.add((catalog, DCTERMS.title, Literal("一网 公共数据开放目录", lang="zh")))
    graph.add((catalog, DCTERMS.description, Literal("Yiwang open data catalogue", lang="en")))
    graph.add((catalog, FOAF.homepage, URIRef(site + "/")))
    themes = URIRef(site + "/opendata/themes")
    graph.add((themes, RDF.type, SKOS.ConceptScheme))
    graph.add((catalog, DCAT.themeTaxonomy, themes))
    datasets = list(selectors.datasets_listed().prefetch_related("distributions").order_by("name"))
    publishers = {}
    for dataset in datasets:
        node = URIRef(request.build_absolute_uri(reverse("opendata:dataset", kwargs={"name": dataset.name})))
        graph.add((catalog, DCAT.dataset, node))
        graph.add((node, RDF.type, DCAT.Dataset))
        graph.add((node, DCTERMS.identifier, Literal(str(dataset.pk))))
        graph.add((node, DCTERMS.title, Literal(dataset.title, lang="zh")))
        if dataset.description:
            graph.add((node, DCTERMS.description, Literal(dataset.description, lang="zh")))
        graph.add((node, DCTERMS.issued, Literal(dataset.created_at.isoformat(), datatype=XSD.dateTime)))
        graph.add((node, DCTERMS.modified, Literal(dataset.updated_at.isoformat(), datatype=XSD.dateTime)))
        graph.add((node, DCAT.landingPage, node))
        publisher = publishers.get(dataset.publisher_id)
        if publisher is None:
            publisher = URIRef(f"{site}/opendata/organizations/{ckan.org_name(dataset.publisher)}")
            graph.add((publisher, RDF.type, FOAF.Organization))
            graph.add((publisher, FOAF.name, Literal(dataset.publisher.name, lang="zh")))
            publishers[dataset.publisher_id] = publisher
        graph.add((node, DCTERMS.publisher, publisher))
        theme = URIRef(f"{site}/opendata/themes/{dataset.theme}")
        graph.add((theme, RDF.type, SKOS.Concept))
        graph.add((theme, SKOS.prefLabel, Literal(str(Theme(dataset.theme).label), lang="zh")))
        graph.add((theme, SKOS.inScheme, themes))
        graph.add((node, DCAT.theme, theme))
        for keyword in dataset.keywords:
            graph.add((node, DCAT.keyword, Literal(keyword, lang="zh")))
        graph.add((node, DCTERMS.accrualPeriodicity, FREQUENCIES[dataset.frequency]))
        if dataset.temporal_start or dataset.temporal_end:
            period = BNode()
            graph.add((period, RDF.type, DCTERMS.PeriodOfTime))
            if dataset.temporal_start:
                graph.add((period, DCAT.startDate, Literal(dataset.temporal_start.isoformat(), datatype=XSD.date)))
            if dataset.temporal_end:
                graph.add((period, DCAT.endDate, Literal(dataset.temporal_end.isoformat(), datatype=XSD.date)))
            graph.add((node, DCTERMS.temporal, period))
        if dataset.spatial:
            place = BNode()
            graph.add((place, RDF.type, DCTERMS.Location))
            graph.add((place, SKOS.prefLabel, Literal(dataset.spatial, lang="zh")))
            graph.add((node, DCTERMS.spatial, place))
        licence = URIRef(ckan.LICENCES.get(dataset.licence, (None, f"{site}/opendata/licences/{dataset.licence}"))[1])
        graph.add((node, DCTERMS.license, licence))
        rights = "public" if dataset.open_type == OpenType.OPEN else "restricted"
        graph.add((node, DCTERMS.accessRights, Literal(rights)))
        if dataset.contact_name or dataset.contact_email:
            contact = BNode()
            graph.add((contact, RDF.type, VCARD.Kind))
            graph.add((contact, VCARD.fn, Literal(dataset.contact_name or dataset.publisher.name)))
            if dataset.contact_email:
                graph.add((contact, VCARD.hasEmail, URIRef("mailto:" + dataset.contact_email)))
            graph.add((node, DCAT.contactPoint, contact))
        for dist in dataset.distributions.all():
            dnode = URIRef(f"{site}/opendata/resources/{dist.pk}")
            graph.add((node, DCAT.distribution, dnode))
            graph.add((dnode, RDF.type, DCAT.Distribution))
            graph.add((dnode, DCTERMS.title, Literal(dist.name, lang="zh")))
            url = URIRef(ckan.resource_url(request, dist))
            graph.add((dnode, DCAT.accessURL, url))
            if dist.format != Distribution.Format.API:
                graph.add((dnode, DCAT.downloadURL, url))
            graph.add((dnode, DCTERMS.format, Literal(dist.format)))
            graph.add((dnode, DCAT.mediaType, Literal(FORMATS[dist.format])))
            graph.add((dnode, DCTERMS.license, licence))
    return graph


def serialize(request, kind: str) -> tuple[bytes, str]:
    fmt, content_type = SERIALIZERS[kind]
    data = catalogue_graph(request).serialize(format=fmt)
    return data.encode("utf-8") if isinstance(data, str) else data, content_type
